-- Shape c's JSON ceiling (benches/run drives it with pgbench -M prepared): ONE statement that builds
-- the `data` the server answers to
--   query ShapeC($slug: String!) { petition(slug: $slug) {
--     id title goal signatureCount film { id slug title } } }
-- The petition by slug with its maintained signature count and its film (null when it is about
-- none). Global IDs are base64("Type:id").
-- pgbench variables: :slug (the petition).
SELECT json_build_object('petition', (
  SELECT json_build_object(
           'id', encode(convert_to('Petition:' || pe.id, 'UTF8'), 'base64'),
           'title', pe.title,
           'goal', pe.goal,
           'signatureCount', pe.signature_count,
           'film', (SELECT json_build_object(
                             'id', encode(convert_to('Film:' || f.id, 'UTF8'), 'base64'),
                             'slug', f.slug,
                             'title', f.title)
                    FROM films f
                    WHERE f.id = pe.film_id))
  FROM petitions pe
  WHERE pe.slug = :slug)) AS data;
