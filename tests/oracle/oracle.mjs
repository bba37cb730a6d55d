// The execution oracle: graphql-js, the reference implementation, judges fandb's answers.
//
// For each document (the regression cases first, then seeded random ones rich in fragments,
// nested type conditions, @skip/@include with variables and defaults, aliases, repeated keys and
// arguments that raise errors):
//   1. fandb answers the document, on the read planner and on the resolvers;
//   2. the document is flattened with graphql-js's own field collection: no fragment spreads, no
//      directives, no variables, one response key once per object, type conditions only directly
//      under an abstract field; fandb's answer to that form is the data source, and every error it
//      raises marks its field (the field is then left out and the form asked again, so the rest of
//      the data is still read);
//   3. graphql-js executes the original document over that data (a field with an error throws it);
//   4. fandb's answers must equal graphql-js's: the same `data`, key for key in the same order, the
//      same nulls, and an error at every path graphql-js reports one (fandb may also report an
//      error that graphql-js dropped because a sibling's error had already nulled their parent).
//
// Usage: node oracle.mjs --url http://127.0.0.1:PORT/graphql --schema ../../schema.graphql
//        [--seed N] [--count N] [--only INDEX]
// Prints each difference with its seed and document, then one closing line
// "oracle: N passed, N failed"; exits 1 on any failure.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  GraphQLError,
  Kind,
  astFromValue,
  buildSchema,
  execute,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  parse,
  print,
  validate,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields.js';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values.js';

const options = parseOptions(process.argv.slice(2));
const schema = buildSchema(readFileSync(options.schema, 'utf8'));
const regressions = JSON.parse(readFileSync(fileURLToPath(new URL('./regressions.json', import.meta.url)), 'utf8'));

// ---------------------------------------------------------------------------------------------
// Talking to fandb.

async function ask(query, variables, readPath) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (readPath === 'resolvers') headers['x-fandb-read-path'] = 'resolvers';
  const response = await fetch(options.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`fandb answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// A seeded generator (mulberry32), so every document can be made again from its seed.

function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    chance: (p) => next() < p,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

// Record keys read from fandb once, so generated arguments name real rows as well as missing ones.
async function loadKeys() {
  const answer = await ask(
    `{ films(first: 20) { nodes { id slug } } people(first: 50) { nodes { id slug } }
       events(first: 20) { nodes { id slug } } petitions(first: 20) { nodes { id slug } }
       quotes(first: 20) { nodes { id } } }`,
    {},
  );
  const data = answer.data;
  if (!data) throw new Error(`fandb did not list its records: ${JSON.stringify(answer.errors)}`);
  return {
    Film: data.films.nodes,
    Person: data.people.nodes,
    Event: data.events.nodes,
    Petition: data.petitions.nodes,
    Quote: data.quotes.nodes,
  };
}

const ROOTS = ['node', 'nodes', 'film', 'films', 'person', 'people', 'quote', 'quotes', 'event', 'events',
  'petition', 'petitions', 'search', 'campaign', 'me'];
const BAD_IDS = ['Rm9vOjE=', 'not-an-id', 'RmlsbTo5OTk5OTk='];
const SEARCH_TERMS = ['alita', 'rosa', 'sequel', 'cameron', 'e'];

// One random document and its variables.
function generate(rng, keys) {
  const variables = [];
  const values = {};
  const fragments = [];
  let aliases = 0;
  let directives = 0;

  // A Boolean for @skip/@include: a literal, or a variable that is given, defaulted or both.
  const condition = () => {
    if (rng.chance(0.4)) return rng.pick(['true', 'false']);
    const name = `b${variables.length}`;
    const form = rng.int(3);
    const value = rng.chance(0.5);
    if (form === 0) variables.push(`$${name}: Boolean = ${value}`);
    else if (form === 1) variables.push(`$${name}: Boolean!`);
    else variables.push(`$${name}: Boolean = ${!value}`);
    if (form !== 0) values[name] = value;
    return `$${name}`;
  };
  const directive = () => {
    if (directives >= 40 || !rng.chance(0.3)) return '';
    directives += 1;
    return ` @${rng.pick(['skip', 'include'])}(if: ${condition()})`;
  };

  const idOf = (typeName) => {
    const rows = keys[typeName];
    return rows && rows.length ? rng.pick(rows).id : rng.pick(BAD_IDS);
  };
  const anyId = () => (rng.chance(0.15) ? rng.pick(BAD_IDS) : idOf(rng.pick(Object.keys(keys))));

  // Arguments for a field, or null when it needs one this generator cannot give; one choice per
  // field of a type in a document, so that fields that may meet under one key can be merged.
  const chosen = new Map();
  const argumentsFor = (field, parentName, depth) => {
    const coordinate = `${parentName}.${field.name}`;
    if (!chosen.has(coordinate)) chosen.set(coordinate, chooseArguments(field, parentName, depth));
    return chosen.get(coordinate);
  };
  const chooseArguments = (field, parentName, depth) => {
    const parts = [];
    const has = (name) => field.args.some((arg) => arg.name === name);
    if (has('first') && !has('query')) {
      const roll = rng.int(20);
      const size = roll === 0 ? -1 : roll === 1 ? 500 : 1 + rng.int(depth === 0 ? 4 : 2);
      if (rng.chance(0.15)) {
        const name = `n${variables.length}`;
        variables.push(`$${name}: Int = ${size}`);
        if (rng.chance(0.5)) values[name] = 1 + rng.int(2);
        parts.push(`first: $${name}`);
      } else {
        parts.push(`first: ${size}`);
      }
      if (rng.chance(0.05)) parts.push('after: "not-a-cursor"');
    }
    for (const arg of field.args) {
      if (arg.name === 'first' || arg.name === 'after' || arg.name === 'last' || arg.name === 'before') continue;
      const required = isNonNullType(arg.type);
      const named = getNamedType(arg.type);
      if (arg.name === 'slug' && parentName === 'Query') {
        if (!parts.some((part) => part.startsWith('id:'))) {
          const rows = keys[getNamedType(field.type).name] || [];
          parts.push(`slug: ${JSON.stringify(rng.chance(0.85) && rows.length ? rng.pick(rows).slug : 'no-such-slug')}`);
        }
      } else if (arg.name === 'id' && parentName === 'Query' && required) {
        const typeName = getNamedType(field.type).name;
        parts.push(`id: ${JSON.stringify(rng.chance(0.8) && keys[typeName] ? idOf(typeName) : anyId())}`);
      } else if (arg.name === 'ids') {
        const ids = Array.from({ length: 1 + rng.int(3) }, () => (rng.chance(0.9) ? idOf(rng.pick(Object.keys(keys))) : anyId()));
        parts.push(`ids: ${JSON.stringify(ids)}`);
      } else if (arg.name === 'query') {
        parts.push(`query: ${JSON.stringify(rng.pick(SEARCH_TERMS))}`);
        if (rng.chance(0.5)) parts.push(`first: ${rng.chance(0.1) ? 500 : 1 + rng.int(4)}`);
      } else if (arg.name === 'orderBy' && isInputObjectType(named) && rng.chance(0.3)) {
        const fieldEnum = getNullableType(named.getFields().field?.type);
        if (isEnumType(fieldEnum)) {
          const value = rng.pick(fieldEnum.getValues()).name;
          parts.push(`orderBy: { field: ${value}, direction: ${rng.pick(['ASC', 'DESC'])} }`);
        }
      } else if (required) {
        return null;
      }
    }
    return parts.length ? `(${parts.join(', ')})` : '';
  };

  // Types a fragment inside a selection on `scope` may name: those that share an object type.
  const overlapping = (scope) => {
    const possible = new Set(isAbstractType(scope) ? schema.getPossibleTypes(scope).map((type) => type.name) : [scope.name]);
    const candidates = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !isCompositeType(type)) continue;
      const types = isAbstractType(type) ? schema.getPossibleTypes(type) : [type];
      if (types.some((object) => possible.has(object.name))) candidates.push(type);
    }
    return candidates;
  };

  const FIELD_KEYS = ['a', 'b', 'c'];

  // A selection set on `scope` (whose fields may be selected), `depth` levels down.
  const selection = (scope, depth) => {
    const items = [];
    const width = 1 + rng.int(depth === 0 ? 3 : 4);
    const fields = isObjectType(scope) || isInterfaceType(scope) ? Object.values(scope.getFields()) : [];
    for (let i = 0; i < width; i += 1) {
      const roll = rng.int(10);
      if (roll < 6 && fields.length) {
        const field = rng.pick(fields);
        const named = getNamedType(field.type);
        if (isCompositeType(named) && depth >= 3) continue;
        const args = argumentsFor(field, scope.name, depth + 1);
        if (args === null) continue;
        let key = '';
        if (aliases < 10 && rng.chance(0.2)) {
          aliases += 1;
          key = `${rng.pick(FIELD_KEYS)}${aliases}: `;
        }
        const inner = isCompositeType(named) ? ` { ${selection(named, depth + 1)} }` : '';
        items.push(`${key}${field.name}${args}${directive()}${inner}`);
        // The same key again, to be merged with the first.
        if (rng.chance(0.1)) items.push(`${key}${field.name}${args}${directive()}${inner ? ` { ${selection(named, depth + 1)} }` : ''}`);
      } else if (roll < 7) {
        items.push(`${rng.chance(0.2) ? 'typeName: ' : ''}__typename${directive()}`);
      } else if (roll < 9 && depth < 5) {
        const on = rng.pick(overlapping(scope));
        const typed = rng.chance(0.85);
        items.push(`...${typed ? ` on ${on.name}` : ''}${directive()} { ${selection(typed ? on : scope, depth + 1)} }`);
      } else if (depth < 5 && fragments.length < 6) {
        const on = rng.pick(overlapping(scope));
        const name = `F${fragments.length}`;
        fragments.push(null);
        fragments[fragments.length - 1] = `fragment ${name} on ${on.name} { ${selection(on, depth + 1)} }`;
        items.push(`...${name}${directive()}`);
        if (rng.chance(0.2)) items.push(`...${name}${directive()}`);
      }
    }
    if (!items.length) items.push('__typename');
    return items.join(' ');
  };

  const query = schema.getQueryType();
  const roots = [];
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i += 1) {
    const field = query.getFields()[rng.pick(ROOTS)];
    const args = argumentsFor(field, 'Query', 0);
    if (args === null) continue;
    const key = roots.length && rng.chance(0.5) ? `r${i}: ` : '';
    const named = getNamedType(field.type);
    const inner = isCompositeType(named) ? ` { ${selection(named, 1)} }` : '';
    roots.push(`${key}${field.name}${args}${directive()}${inner}`);
  }
  if (rng.chance(0.15)) roots.push(`... on Query${directive()} { ${rng.chance(0.5) ? 'typeName: __typename' : '__typename'} }`);
  // A variable whose use was dropped with its field is left out, as graphql-js would refuse it.
  const body = `{ ${roots.join(' ')} }\n${fragments.join('\n')}`;
  const used = variables.filter((definition) => new RegExp(`\\${definition.split(':')[0]}\\b`).test(body));
  for (const name of Object.keys(values)) {
    if (!used.some((definition) => definition.startsWith(`$${name}:`))) delete values[name];
  }
  const header = used.length ? `query Q(${used.join(', ')}) ` : '';
  return { query: `${header}${body}`, variables: values };
}

// ---------------------------------------------------------------------------------------------
// The flattened form, by graphql-js's own CollectFields.

// An abstract field's object type, and what an object with no field left selects: `__typename`
// under its own name (a document that selects it gets the same value), so the form adds no alias
// (fandb limits aliases).
const TYPE_KEY = '__typename';

// `omit` holds the paths (list indices left out) of fields to leave out.
function flatten(document, variableValues, omit) {
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  const fragments = Object.fromEntries(document.definitions
    .filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)
    .map((definition) => [definition.name.value, definition]));
  const objectSelection = (type, fieldsByKey, path) => {
    const parts = [];
    for (const [key, nodes] of fieldsByKey) {
      const node = nodes[0];
      const fieldPath = [...path, key];
      if (omit.has(fieldPath.join('.'))) continue;
      const alias = key === node.name.value ? '' : `${key}: `;
      if (node.name.value === '__typename') {
        parts.push(`${alias}__typename`);
        continue;
      }
      const definition = type.getFields()[node.name.value];
      const args = getArgumentValues(definition, node, variableValues);
      const argText = definition.args
        .filter((arg) => Object.prototype.hasOwnProperty.call(args, arg.name))
        .map((arg) => `${arg.name}: ${print(astFromValue(args[arg.name], arg.type))}`);
      const named = getNamedType(definition.type);
      let inner = '';
      if (isCompositeType(named)) {
        inner = ` { ${subSelection(named, nodes, fieldPath)} }`;
      }
      parts.push(`${alias}${node.name.value}${argText.length ? `(${argText.join(', ')})` : ''}${inner}`);
    }
    if (!parts.length) parts.push('__typename');
    return parts.join(' ');
  };
  const subSelection = (named, nodes, path) => {
    const objects = isAbstractType(named) ? schema.getPossibleTypes(named) : [named];
    const forObject = (object) =>
      objectSelection(object, collectSubfields(schema, fragments, variableValues, object, nodes), path);
    if (!isAbstractType(named)) return forObject(named);
    return `__typename ${objects.map((object) => `... on ${object.name} { ${forObject(object)} }`).join(' ')}`;
  };
  const root = schema.getQueryType();
  const rootFields = collectFields(schema, fragments, variableValues, root, operation.selectionSet);
  return `{ ${objectSelection(root, rootFields, [])} }`;
}

// ---------------------------------------------------------------------------------------------
// Judging one document.

const pathKey = (path) => path.join('.');
const sitePath = (path) => path.filter((segment) => typeof segment === 'string').join('.');

// The value at `path` of one answer of the flattened form: `missing` when that answer does not
// hold it (it or a parent was nulled by an error, or it was left out).
const missing = Symbol('missing');
const isPrefix = (prefix, path) => prefix.length < path.length && prefix.every((segment, i) => segment === path[i]);
function lookup(answer, path) {
  let value = answer.data;
  for (const segment of path) {
    if (value === null || value === undefined) return missing;
    value = value[segment];
  }
  if (value === undefined) return missing;
  if (value === null && (answer.errors || []).some((error) => error.path && isPrefix(path, error.path))) return missing;
  return value;
}

async function judge(caseName, query, variables) {
  const document = parse(query);
  const invalid = validate(schema, document);
  if (invalid.length) return { rejected: `graphql-js finds it invalid: ${invalid[0].message}` };
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  const coerced = getVariableValues(schema, operation.variableDefinitions || [], variables);
  if (coerced.errors) return { rejected: `variables: ${coerced.errors[0].message}` };

  const answers = {
    planned: await ask(query, variables, 'planned'),
    resolvers: await ask(query, variables, 'resolvers'),
  };
  const refusal = (answers.planned.errors || []).find((error) => !error.path);
  if (refusal && answers.planned.data === undefined) {
    return { rejected: `fandb refuses it: ${refusal.extensions?.code} ${refusal.message}` };
  }

  // The data source: the flattened form, asked again without the fields that raised errors.
  const runs = [];
  const errorsAt = new Map();
  const omit = new Set();
  for (let round = 0; round < 6; round += 1) {
    const flat = flatten(document, coerced.coerced, omit);
    const answer = await ask(flat, {}, 'planned');
    if (answer.data === undefined) {
      const refused = (answer.errors || []).find((error) => error.extensions?.code === 'GRAPHQL_VALIDATION_FAILED');
      if (refused) return { rejected: `fandb refuses the flattened form: ${refused.message}` };
      return { failure: `fandb refused the flattened form:\n${flat}\n${JSON.stringify(answer.errors)}` };
    }
    runs.push(answer);
    const fresh = (answer.errors || []).filter((error) => error.path && !omit.has(sitePath(error.path)));
    for (const error of answer.errors || []) {
      if (!error.path) return { failure: `the flattened form raised an error without a path:\n${flat}\n${JSON.stringify(error)}` };
      if (!errorsAt.has(pathKey(error.path))) errorsAt.set(pathKey(error.path), error.message);
      omit.add(sitePath(error.path));
    }
    if (!fresh.length) break;
  }

  const expected = await execute({
    schema,
    document,
    variableValues: variables,
    rootValue: {},
    fieldResolver: (_source, _args, _context, info) => {
      const path = [];
      for (let at = info.path; at; at = at.prev) path.unshift(at.key);
      const message = errorsAt.get(pathKey(path));
      if (message !== undefined) throw new GraphQLError(message);
      for (const run of runs) {
        const value = lookup(run, path);
        if (value !== missing) return value;
      }
      return null;
    },
    typeResolver: (value) => value[TYPE_KEY],
  });

  const problems = [];
  for (const [readPath, actual] of Object.entries(answers)) {
    const expectedData = JSON.stringify(expected.data ?? null);
    const actualData = JSON.stringify(actual.data ?? null);
    if (expectedData !== actualData) {
      problems.push(`${readPath}: data differs\n  graphql-js: ${expectedData}\n  fandb:      ${actualData}`);
    }
    const actualPaths = new Set((actual.errors || []).map((error) => pathKey(error.path || [])));
    for (const error of expected.errors || []) {
      if (!actualPaths.has(pathKey(error.path || []))) {
        problems.push(`${readPath}: no error at ${JSON.stringify(error.path)} (graphql-js: ${error.message})`);
      }
    }
    const expectedPaths = new Set((expected.errors || []).map((error) => pathKey(error.path || [])));
    for (const error of actual.errors || []) {
      if (expectedPaths.has(pathKey(error.path || []))) continue;
      // An error graphql-js did not reach is fine only inside a value an earlier error nulled.
      const path = error.path || [];
      const underNull = path.some((_, depth) => lookup({ data: actual.data }, path.slice(0, depth)) === null);
      if (!underNull) {
        problems.push(`${readPath}: an error graphql-js does not raise, at ${JSON.stringify(path)}: ${error.message}`);
      }
    }
  }
  return problems.length ? { failure: problems.join('\n') } : { passed: true };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const keys = await loadKeys();
  let passed = 0;
  let failed = 0;
  let rejected = 0;
  const report = (name, query, variables, outcome) => {
    if (outcome.passed) passed += 1;
    else if (outcome.rejected) {
      rejected += 1;
      if (options.verbose) console.log(`rejected ${name}: ${outcome.rejected}`);
    } else {
      failed += 1;
      console.log(`FAILED ${name}\n--- document\n${query}\n--- variables\n${JSON.stringify(variables)}\n--- differences\n${outcome.failure}\n`);
    }
  };
  if (options.only === undefined) {
    for (const item of regressions) {
      report(`regression "${item.name}"`, item.query, item.variables || {}, await judge(item.name, item.query, item.variables || {}));
    }
  }
  for (let index = 0; index < options.count; index += 1) {
    if (options.only !== undefined && index !== options.only) continue;
    const rng = random(options.seed * 100003 + index);
    const { query, variables } = generate(rng, keys);
    const name = `seed ${options.seed} document ${index} (--seed ${options.seed} --only ${index})`;
    if (options.verbose && options.only !== undefined) console.log(`${query}\n${JSON.stringify(variables)}`);
    let outcome;
    try {
      outcome = await judge(name, query, variables);
    } catch (error) {
      outcome = { failure: `the oracle failed: ${error.stack}` };
    }
    report(name, query, variables, outcome);
  }
  // Too many refused documents would leave the oracle judging little.
  const judged = passed + failed;
  console.log(`oracle: ${rejected} documents refused by validation or fandb's limits, ${judged} judged`);
  if (judged < (judged + rejected) * 0.6) {
    console.log('oracle: too few documents were judged');
    failed += 1;
  }
  console.log(`oracle: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

function parseOptions(argv) {
  const result = { seed: 1, count: 200, verbose: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--verbose') result.verbose = true;
    else if (flag === '--url') result.url = argv[++i];
    else if (flag === '--schema') result.schema = argv[++i];
    else if (flag === '--seed') result.seed = Number(argv[++i]);
    else if (flag === '--count') result.count = Number(argv[++i]);
    else if (flag === '--only') result.only = Number(argv[++i]);
    else throw new Error(`unknown option ${flag}`);
  }
  if (!result.url || !result.schema) throw new Error('--url and --schema are required');
  return result;
}

await main();
