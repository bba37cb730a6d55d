-- Shape a's JSON ceiling (benches/run drives it with pgbench -M prepared): ONE statement that builds
-- the `data` the server answers to
--   query ShapeA($slug: String!) { film(slug: $slug) { slug title releaseDate
--     credits(first: 20) { nodes { role character person { id name } } } } }
-- The film by slug, its first 20 credits in billing order (credits without one last, ties by id)
-- and each credit's person. Global IDs are base64("Type:id").
-- pgbench variables: :slug (the film).
SELECT json_build_object('film', (
  SELECT json_build_object(
           'slug', f.slug,
           'title', f.title,
           'releaseDate', f.release_date,
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
                   LIMIT 20) c
             JOIN people p ON p.id = c.person_id), '[]'::json)))
  FROM films f
  WHERE f.slug = :slug)) AS data;
