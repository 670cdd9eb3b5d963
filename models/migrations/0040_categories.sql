-- 0040: offering categories from SPEC's fixed list (homework, sports, arts,
-- music, science, reading, handcraft, labor, thinking, other). Free text
-- typed before the list existed is mapped to a code, so a breakdown shows
-- "sports" and "体育" as one row; what no alias recognises becomes "other".
--
-- category_map: an alias (lower case) and its code. kw = 1 marks aliases
-- that may also be found inside a longer text ("篮球社团" → sports); short
-- Latin aliases match only the whole text ("art" must not match "party").
CREATE TABLE category_map (
  alias TEXT PRIMARY KEY,
  code TEXT NOT NULL,
  kw INTEGER NOT NULL
);
INSERT INTO category_map (alias, code, kw) VALUES
  ('homework', 'homework', 0), ('作业辅导', 'homework', 1), ('作业', 'homework', 1), ('托管', 'homework', 1),
  ('课后托管', 'homework', 1), ('自习', 'homework', 1), ('看护', 'homework', 1), ('辅导', 'homework', 1),
  ('sports', 'sports', 0), ('sport', 'sports', 0), ('pe', 'sports', 0), ('体育', 'sports', 1), ('运动', 'sports', 1),
  ('篮球', 'sports', 1), ('足球', 'sports', 1), ('排球', 'sports', 1), ('乒乓', 'sports', 1), ('羽毛球', 'sports', 1),
  ('网球', 'sports', 1), ('跳绳', 'sports', 1), ('跆拳道', 'sports', 1), ('武术', 'sports', 1), ('田径', 'sports', 1),
  ('游泳', 'sports', 1), ('轮滑', 'sports', 1), ('击剑', 'sports', 1), ('健美操', 'sports', 1), ('踢毽', 'sports', 1),
  ('arts', 'arts', 0), ('art', 'arts', 0), ('美术', 'arts', 1), ('艺术', 'arts', 1), ('绘画', 'arts', 1),
  ('国画', 'arts', 1), ('书法', 'arts', 1), ('素描', 'arts', 1), ('水彩', 'arts', 1), ('漫画', 'arts', 1),
  ('舞蹈', 'arts', 1), ('戏剧', 'arts', 1), ('戏曲', 'arts', 1),
  ('music', 'music', 0), ('音乐', 'music', 1), ('合唱', 'music', 1), ('声乐', 'music', 1), ('器乐', 'music', 1),
  ('乐器', 'music', 1), ('古筝', 'music', 1), ('古琴', 'music', 1), ('钢琴', 'music', 1), ('小提琴', 'music', 1),
  ('葫芦丝', 'music', 1), ('竖笛', 'music', 1), ('口琴', 'music', 1), ('管乐', 'music', 1), ('民乐', 'music', 1),
  ('science', 'science', 0), ('stem', 'science', 0), ('steam', 'science', 0), ('科技', 'science', 1),
  ('科学', 'science', 1), ('实验', 'science', 1), ('机器人', 'science', 1), ('编程', 'science', 1), ('创客', 'science', 1),
  ('航模', 'science', 1), ('天文', 'science', 1), ('信息', 'science', 1),
  ('reading', 'reading', 0), ('阅读', 'reading', 1), ('读书', 'reading', 1), ('绘本', 'reading', 1),
  ('朗诵', 'reading', 1), ('诵读', 'reading', 1), ('书香', 'reading', 1),
  ('handcraft', 'handcraft', 0), ('craft', 'handcraft', 0), ('手工', 'handcraft', 1), ('剪纸', 'handcraft', 1),
  ('折纸', 'handcraft', 1), ('陶艺', 'handcraft', 1), ('编织', 'handcraft', 1), ('泥塑', 'handcraft', 1),
  ('布艺', 'handcraft', 1), ('串珠', 'handcraft', 1),
  ('labor', 'labor', 0), ('labour', 'labor', 0), ('劳动', 'labor', 1), ('种植', 'labor', 1), ('烹饪', 'labor', 1),
  ('家务', 'labor', 1), ('园艺', 'labor', 1), ('农耕', 'labor', 1),
  ('thinking', 'thinking', 0), ('思维', 'thinking', 1), ('数学', 'thinking', 1), ('围棋', 'thinking', 1),
  ('象棋', 'thinking', 1), ('棋', 'thinking', 1), ('数独', 'thinking', 1), ('魔方', 'thinking', 1), ('逻辑', 'thinking', 1),
  ('other', 'other', 0), ('其他', 'other', 1), ('其它', 'other', 1);

-- category_fix: every category text in use that is not a code, with its
-- code: the whole text as an alias, else the longest alias inside it, else
-- other.
CREATE TABLE category_fix (
  old TEXT PRIMARY KEY,
  code TEXT NOT NULL
);
INSERT INTO category_fix (old, code)
SELECT x.category, COALESCE(
    (SELECT m.code FROM category_map m WHERE m.alias = LOWER(TRIM(x.category))),
    (SELECT k.code FROM category_map k WHERE k.kw = 1 AND LOWER(x.category) LIKE '%' || k.alias || '%'
      ORDER BY LENGTH(k.alias) DESC, k.alias LIMIT 1),
    'other')
FROM (SELECT category FROM offerings UNION SELECT category FROM stat_snapshots) x
WHERE x.category <> '' AND x.category NOT IN
  ('homework', 'sports', 'arts', 'music', 'science', 'reading', 'handcraft', 'labor', 'thinking', 'other');

UPDATE offerings SET category = (SELECT f.code FROM category_fix f WHERE f.old = offerings.category)
WHERE category IN (SELECT old FROM category_fix);

-- An offering without a category: an alias in its name, else homework for
-- the base service and other for a club.
UPDATE offerings SET category = COALESCE(
    (SELECT k.code FROM category_map k WHERE k.kw = 1 AND LOWER(offerings.name) LIKE '%' || k.alias || '%'
      ORDER BY LENGTH(k.alias) DESC, k.alias LIMIT 1),
    CASE WHEN kind = 'basic' THEN 'homework' ELSE 'other' END)
WHERE category = '';

-- Snapshots already taken: the category rows of a date with a free-text
-- category are summed per code (club_participants of two merged rows may
-- count a child twice: those dates predate the list).
CREATE TABLE stat_cat_fix AS
SELECT s.scope_type, s.scope_id, s.grade, COALESCE(f.code, s.category) AS category, s.snap_date,
  SUM(s.students) AS students, SUM(s.participants) AS participants, SUM(s.basic_participants) AS basic_participants,
  SUM(s.club_participants) AS club_participants, SUM(s.schools) AS schools, SUM(s.schools_offering) AS schools_offering,
  SUM(s.schools_5plus2) AS schools_5plus2, SUM(s.clubs) AS clubs, SUM(s.seats) AS seats,
  SUM(s.seats_filled) AS seats_filled, SUM(s.waitlisted) AS waitlisted, SUM(s.responses) AS responses,
  SUM(s.supporters) AS supporters, SUM(s.satisfied) AS satisfied, SUM(s.attended) AS attended,
  SUM(s.attendance_marked) AS attendance_marked, MAX(s.computed_at) AS computed_at
FROM stat_snapshots s LEFT JOIN category_fix f ON f.old = s.category
WHERE s.category <> '' AND s.snap_date IN (SELECT DISTINCT snap_date FROM stat_snapshots WHERE category IN (SELECT old FROM category_fix))
GROUP BY s.scope_type, s.scope_id, s.grade, COALESCE(f.code, s.category), s.snap_date;

DELETE FROM stat_snapshots WHERE category <> ''
  AND snap_date IN (SELECT DISTINCT snap_date FROM stat_cat_fix);

INSERT INTO stat_snapshots (scope_type, scope_id, grade, category, snap_date, students, participants,
  basic_participants, club_participants, schools, schools_offering, schools_5plus2, clubs, seats, seats_filled,
  waitlisted, responses, supporters, satisfied, attended, attendance_marked, computed_at)
SELECT scope_type, scope_id, grade, category, snap_date, students, participants,
  basic_participants, club_participants, schools, schools_offering, schools_5plus2, clubs, seats, seats_filled,
  waitlisted, responses, supporters, satisfied, attended, attendance_marked, computed_at
FROM stat_cat_fix;

DROP TABLE stat_cat_fix;
DROP TABLE category_fix;
DROP TABLE category_map;
