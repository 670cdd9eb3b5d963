-- 0041: schools are unique by region and name (codes were unique already);
-- a bureau admin may close a school: it leaves the statistics from then on,
-- its history stays. A name repeated in one region before this rule gets
-- its id appended (the later school), so the unique index can be built.
UPDATE schools SET name = name || '（' || id || '）'
WHERE EXISTS (SELECT 1 FROM schools s2 WHERE s2.region_id = schools.region_id AND s2.name = schools.name AND s2.id < schools.id);
CREATE UNIQUE INDEX schools_region_name ON schools(region_id, name);

-- status: active|closed; closed_at is when it closed.
ALTER TABLE schools ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE schools ADD COLUMN closed_at {{TS}};
