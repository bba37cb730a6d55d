// Generates the campaign client's persisted-documents manifest (hash → document) from its
// operations, against the server's schema. `npm run codegen` writes persisted-documents.json, which
// the server loads with FANDB_TRUSTED_DOCUMENTS; .ci/run checks the committed one is current.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['./*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    './gql/': {
      preset: 'client',
      presetConfig: {
        // SHA-256 of the document text: the same hash the automatic persisted-query protocol sends.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
    },
  },
};

export default config;
