-- Shape d's JSON ceiling (benches/run drives it with pgbench -M prepared): ONE statement that builds
-- the `data` the server answers to
--   query ShapeD { films(first: 20) { nodes { id title
--     credits(first: 10) { nodes { role character person { id name } } }
--     quotes(first: 5) { nodes { id text saidOn } } } } }
-- The first 20 films by title (ties by id); for each, its first 10 credits in billing order
-- (credits without one last, ties by id) with their people, and its first 5 published quotes in the
-- order they were added (created_at, then id). Global IDs are base64("Type:id").
-- No pgbench variables: the shape always reads the same page.
SELECT json_build_object('films', json_build_object('nodes', COALESCE((
  SELECT json_agg(json_build_object(
           'id', encode(convert_to('Film:' || f.id, 'UTF8'), 'base64'),
           'title', f.title,
           'credits', json_build_object('nodes', COALESCE((
             SELECT json_agg(json_build_object(
                      'role', c.role,
                      'character', c.character,
                      'person', json_build_object(
                        'id', encode(convert_to('Person:' || p.id, 'UTF8'), 'base64'),
                        'name', p.name))
                    ORDER BY c.billing_order, c.id)
             FROM (SELECT id, person_id, role, character, billing_order
                   FROM credits
                   WHERE film_id = f.id
                   ORDER BY billing_order, id
                   LIMIT 10) c
             JOIN people p ON p.id = c.person_id), '[]'::json)),
           'quotes', json_build_object('nodes', COALESCE((
             SELECT json_agg(json_build_object(
                      'id', encode(convert_to('Quote:' || q.id, 'UTF8'), 'base64'),
                      'text', q.text,
                      'saidOn', q.said_on)
                    ORDER BY q.created_at, q.id)
             FROM (SELECT id, text, said_on, created_at
                   FROM quotes
                   WHERE film_id = f.id AND status = 'PUBLISHED'
                   ORDER BY created_at, id
                   LIMIT 5) q), '[]'::json)))
         ORDER BY f.title, f.id)
  FROM (SELECT id, title FROM films ORDER BY title, id LIMIT 20) f), '[]'::json))) AS data;
