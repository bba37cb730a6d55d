-- Shape b's JSON ceiling (benches/run drives it with pgbench -M prepared): ONE statement that builds
-- the `data` the server answers to
--   query ShapeB($after: String) { quotes(first: 50, after: $after) {
--     nodes { id text source saidOn person { name } film { title } } } }
-- The 50 published quotes after the cursor, newest first (created_at, then id, both descending),
-- each with its person and its film (null when the quote is about no film). Global IDs are
-- base64("Type:id").
-- pgbench variables: :after_at and :after_id, the created_at and id the cursor carries.
SELECT json_build_object('quotes', json_build_object('nodes', COALESCE((
  SELECT json_agg(json_build_object(
           'id', encode(convert_to('Quote:' || q.id, 'UTF8'), 'base64'),
           'text', q.text,
           'source', q.source,
           'saidOn', q.said_on,
           'person', json_build_object('name', p.name),
           'film', CASE WHEN f.id IS NULL THEN NULL ELSE json_build_object('title', f.title) END)
         ORDER BY q.created_at DESC, q.id DESC)
  FROM (SELECT id, text, source, said_on, person_id, film_id, created_at
        FROM quotes
        WHERE status = 'PUBLISHED'
          AND (created_at, id) < (CAST(:after_at AS timestamptz), CAST(:after_id AS bigint))
        ORDER BY created_at DESC, id DESC
        LIMIT 50) q
  JOIN people p ON p.id = q.person_id
  LEFT JOIN films f ON f.id = q.film_id), '[]'::json))) AS data;
