// school.js: the school admin's pages — offerings (create, edit, publish,
// close, cancel; live seat counts; the teacher who takes the roll; a change
// that breaks the rules for enrolled students is confirmed), an offering's
// roster, waitlist and sessions, terms and the calendar editor, the
// lottery; and the platform admin's job runs. The students (and binding
// codes, waivers) are in school_students.js, the people pages in
// school_people.js, the calendar editor in
// school_calendar.js, an offering's sessions in school_sessions.js.
import * as api from './api.js';
import {
  h, fill, card, stat, num, table, loading, errorBox, guard, toast, modal, status, dateTime, price,
  CATEGORIES, WEEKDAYS,
} from './ui.js';

import { calendarEditor } from './school_calendar.js';
import { sessionsPanel } from './school_sessions.js';
import { schoolStaff } from './school_people.js';

export { importRoster } from './roster.js';
export { staff, leave, deletions } from './school_people.js';
export { students } from './school_students.js';

const KINDS = { basic: '基础托管', club: '社团' };
const MODES = { fcfs: '先到先得', lottery: '抽签' };

async function termsOf(schoolID) {
  const res = await api.all(`/schools/${schoolID}/terms`);
  return res.items.sort((a, b) => b.starts_on.localeCompare(a.starts_on));
}

function termPicker(terms, value, onChange) {
  return h('label.inline', '学期 ', h('select', { onchange: (e) => onChange(e.target.value) },
    terms.map((t) => h('option', { value: t.id, selected: String(t.id) === String(value) }, `${t.name}（${t.starts_on} 至 ${t.ends_on}）`))));
}

// fmtDays writes weekdays, a run of three or more as one span (周一至周五).
const fmtDays = (d) => {
  const s = [...(d || [])].sort((a, b) => a - b);
  const run = s.length >= 3 && s.every((x, i) => i === 0 || x === s[i - 1] + 1);
  return run ? `${WEEKDAYS[s[0]]}至${WEEKDAYS[s[s.length - 1]]}` : s.map((x) => WEEKDAYS[x]).join('、');
};
const fmtGrades = (g) => {
  if (!g || !g.length) return '—';
  const s = [...g].sort((a, b) => a - b);
  const run = s.every((x, i) => i === 0 || x === s[i - 1] + 1);
  return run && s.length > 1 ? `${s[0]}–${s[s.length - 1]}年级` : s.map((x) => x + '年级').join('、');
};

function actions(o, after) {
  const act = (label, path, confirmText, tone) => h('button.btn.small' + (tone ? '.' + tone : ''), {
    type: 'button',
    onclick: async (e) => {
      e.stopPropagation();
      if (confirmText && !confirm(confirmText)) return;
      await guard(() => api.post(`/offerings/${o.id}/${path}`), `${label}成功`);
      after();
    },
  }, label);
  const out = [];
  if (o.status === 'draft') out.push(act('发布', 'publish'));
  if (o.status === 'published') out.push(act('截止报名', 'close', `截止「${o.name}」的报名？`));
  if (o.status === 'draft' || o.status === 'published' || o.status === 'closed') {
    out.push(act('取消', 'cancel', `取消「${o.name}」？已报名的家庭会收到通知。`, 'danger'));
  }
  return h('div.actions', out);
}

/** offerings: the term's offerings with live seat counts. */
export async function offerings(el, ctx) {
  const sid = ctx.me.school_id;
  fill(el, h('div.page-head', h('h1', '课程管理')), loading());
  const terms = await termsOf(sid);
  if (!terms.length) {
    fill(el, h('div.page-head', h('h1', '课程管理')), card(null, h('p', '还没有学期。'), h('a.btn', { href: '#/terms' }, '新建学期')));
    return;
  }
  // The term last picked in this tab, else the current one (in session
  // today, else the next to start), else the newest.
  const current = (terms.find((t) => t.current) || terms[0]).id;
  let termID = sessionStorage.getItem('kehou.term') || current;
  if (!terms.some((t) => String(t.id) === String(termID))) termID = current;
  const box = h('div', loading());
  const updated = h('span.muted.small');
  fill(el, h('div.page-head', h('h1', '课程管理'),
    h('div.toolbar', termPicker(terms, termID, (v) => { termID = v; sessionStorage.setItem('kehou.term', v); load(); }),
      h('button.btn', { type: 'button', onclick: () => editOffering(null, terms, termID, sid, load) }, '＋ 新建课程'))),
  card(h('div.row', h('h2', '课程列表'), updated), h('div.offering-list', box)));
  async function load() {
    try {
      const res = await api.all(`/schools/${sid}/offerings`, { term_id: termID });
      const items = res.items;
      const seats = items.filter((o) => o.kind === 'club' && o.status !== 'cancelled');
      const held = (o) => o.held || 0;
      const sum = (f) => items.reduce((n, o) => n + f(o), 0);
      fill(box, h('div.grid.counts.five',
        stat('课程', num(items.length), `基础托管 ${items.filter((o) => o.kind === 'basic').length} · 社团 ${seats.length}`),
        stat('社团名额', num(seats.reduce((n, o) => n + o.capacity, 0))),
        stat('已录取', num(sum((o) => o.enrolled - held(o))), '已缴费、免费或减免', 'good'),
        stat('待缴费', num(sum(held)), '保留中，到期未缴即释放', sum(held) ? 'warn' : null),
        stat('候补', num(sum((o) => o.waitlisted)), null, 'warn')),
      table([
        { key: 'name', label: '课程', fmt: (n, o) => h('div.who', h('div', n), h('div.muted.small', [KINDS[o.kind], CATEGORIES[o.category], o.teacher].filter(Boolean).join(' · '))) },
        { key: 'kind', label: '类型', xlsxOnly: true, xlsx: (r) => KINDS[r.kind] },
        { key: 'category', label: '类别', xlsxOnly: true, xlsx: (r) => CATEGORIES[r.category] || r.category },
        { key: 'teacher', label: '教师', xlsxOnly: true },
        { key: 'weekdays', label: '时间', fmt: (d, o) => h('div', h('div', fmtDays(d)), h('div.muted.small', `${o.start_time}–${o.end_time}`)), xlsx: (o) => `${fmtDays(o.weekdays)} ${o.start_time}–${o.end_time}` },
        { key: 'grades', label: '年级', fmt: fmtGrades, xlsx: (o) => fmtGrades(o.grades) },
        { key: 'fee_fen', label: '收费', num: true, fmt: (v, o) => price(v, o.billing), xlsx: (o) => price(o.fee_fen, o.billing) },
        { key: 'mode', label: '方式', fmt: (m) => MODES[m] || m, xlsx: (o) => MODES[o.mode] },
        { key: 'capacity', label: '名额', num: true },
        { key: 'paid', label: '已录取', num: true, sort: (o) => o.enrolled - held(o), fmt: (_, o) => num(o.enrolled - held(o)), xlsx: (o) => o.enrolled - held(o) },
        { key: 'held', label: '待缴费', num: true, fmt: (v) => (v ? h('span.held-count', num(v)) : '—'), xlsx: (o) => held(o) },
        { key: 'waitlisted', label: '候补', num: true, fmt: (v, o) => (o.mode === 'lottery' && !o.drawn_at ? `报名 ${o.applied}` : v) },
        { key: 'remaining', label: '剩余', num: true, fmt: (v) => (v === 0 ? h('span.tag.bad', '满') : v) },
        { key: 'status', label: '状态', fmt: (s) => h('span.tag.' + s, status(s)), xlsx: (o) => status(o.status) },
        { key: 'id', label: '操作', fmt: (_, o) => actions(o, load), xlsx: false },
      ], items, { onRow: (o) => { location.hash = `#/offering/${o.id}`; }, exportName: `课程-${termID}` }));
      updated.textContent = ` 更新于 ${new Date().toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hourCycle: 'h23' })}（每15秒刷新）`;
    } catch (e) {
      fill(box, errorBox(e));
    }
  }
  await load();
  // Live counts while this page is on screen.
  const timer = setInterval(() => (box.isConnected ? (document.hidden || load()) : clearInterval(timer)), 15000);
}

function toLocalInput(s) {
  if (!s) return '';
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(s)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
const fromLocalInput = (v) => (v ? v + ':00+08:00' : null);

const REASONS = { grade_not_eligible: '年级不再符合', schedule_conflict: '与已报名的其他社团时间冲突' };

/** conflictsBox lists the enrolled students a change breaks a rule for
 * (409 enrolled_conflicts) with a button that sends the change again,
 * forced: the change stands and their families are told. */
function conflictsBox(e, onForce) {
  const list = (e.body && e.body.conflicts) || [];
  return h('div.alert.warn', h('strong', `这次修改会影响 ${list.length} 名已报名的学生：`),
    h('ul', list.map((c) => h('li', `${c.name}：${REASONS[c.reason] || c.reason}`))),
    h('p.small', '确认修改后，这些学生的家长会收到课程变更通知，由家长决定是否退出。'),
    h('div.form-actions', h('button.btn.danger', { type: 'button', onclick: onForce }, '确认修改并通知家长')));
}

/** editOffering opens the form of a new offering (o null) or of o. */
async function editOffering(o, terms, termID, sid, after) {
  const teachers = await schoolStaff(sid).then((us) => us.filter((u) => u.role === 'teacher' && !u.disabled)).catch(() => []);
  const v = o || { kind: 'club', category: 'sports', weekdays: [1, 2, 3, 4, 5], grades: [1, 2, 3, 4, 5, 6],
    start_time: '16:30', end_time: '18:00', capacity: 30, fee_fen: 0, billing: 'term', mode: 'fcfs', waitlist: true, term_id: Number(termID) };
  const f = {};
  const field = (label, input, wide) => h('label' + (wide ? '.wide' : ''), label, input);
  const sel = (name, opts, val) => (f[name] = h('select', Object.entries(opts).map(([k, l]) => h('option', { value: k, selected: k === val }, l))));
  const inp = (name, attrs) => (f[name] = h('input', attrs));
  const boxes = (name, list, picked) => {
    f[name] = list.map(([val, label]) => h('input', { type: 'checkbox', value: val, checked: picked.includes(val) }));
    return h('div.checks', f[name].map((c, i) => h('label.check', c, list[i][1])));
  };
  const err = h('div');
  const form = h('form.form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        term_id: Number(f.term_id.value), kind: f.kind.value, name: f.name.value.trim(), category: f.category.value,
        description: f.description.value, teacher: f.teacher.value, venue: f.venue.value,
        weekdays: f.weekdays.filter((c) => c.checked).map((c) => Number(c.value)),
        start_time: f.start_time.value, end_time: f.end_time.value, capacity: Number(f.capacity.value),
        grades: f.grades.filter((c) => c.checked).map((c) => Number(c.value)),
        fee_fen: Math.round(Number(f.fee.value || 0) * 100), billing: f.billing.value, mode: f.mode.value, waitlist: f.waitlist.checked,
        enroll_opens_at: fromLocalInput(f.opens.value), enroll_closes_at: fromLocalInput(f.closes.value),
      };
      const tid = Number(f.teacher_user_id.value);
      if (tid || o) body.teacher_user_id = tid; // 0 clears it on PATCH
      const send = async (force) => {
        try {
          const saved = o ? await api.patch(`/offerings/${o.id}`, force ? { ...body, force: true } : body)
            : await api.request('POST', `/schools/${sid}/offerings`, { body });
          close();
          toast(o ? (force ? '已保存，已通知受影响的家长' : '已保存') : `已创建「${saved.name}」（草稿）`);
          after(saved);
        } catch (e2) {
          fill(err, e2.code === 'enrolled_conflicts' ? conflictsBox(e2, () => send(true)) : errorBox(e2));
          err.scrollIntoView({ block: 'nearest' }); // below a long form, on a phone above all
        }
      };
      send(false);
    },
  },
  h('div.form-grid',
    field('学期', sel('term_id', Object.fromEntries(terms.map((t) => [String(t.id), t.name])), String(v.term_id))),
    field('类型', sel('kind', KINDS, v.kind)),
    field('名称', inp('name', { value: v.name || '', required: true, maxLength: 64, placeholder: '如：篮球社' })),
    field('类别', sel('category', CATEGORIES, v.category || 'other')),
    field('点名教师', (f.teacher_user_id = h('select', {
      onchange: () => {
        const t = teachers.find((u) => String(u.id) === f.teacher_user_id.value);
        if (t && !f.teacher.value.trim()) f.teacher.value = t.display_name;
      },
    }, h('option', { value: 0 }, teachers.length ? '（未指定）' : '（还没有教师账号）'),
    teachers.map((u) => h('option', { value: u.id, selected: u.id === v.teacher_user_id }, `${u.display_name}（${u.username}）`))))),
    field('教师（显示给家长）', inp('teacher', { value: v.teacher || '' })),
    field('地点', inp('venue', { value: v.venue || '' })),
    field('上课日', boxes('weekdays', [1, 2, 3, 4, 5].map((d) => [d, WEEKDAYS[d]]), v.weekdays || []), true),
    field('开始时间', inp('start_time', { type: 'time', value: v.start_time, required: true })),
    field('结束时间', inp('end_time', { type: 'time', value: v.end_time, required: true })),
    field('名额', inp('capacity', { type: 'number', min: 1, value: v.capacity, required: true })),
    field('收费（元，0 为免费）', inp('fee', { type: 'number', min: 0, step: '0.01', value: (v.fee_fen || 0) / 100 })),
    field('计费方式', sel('billing', { term: '按学期（元/学期）', month: '按月（元/月）', session: '按次（元/次）' }, v.billing || 'term')),
    field('适用年级', boxes('grades', [1, 2, 3, 4, 5, 6, 7, 8, 9].map((g) => [g, g + '年级']), v.grades || []), true),
    field('报名方式', sel('mode', MODES, v.mode)),
    field('满员后候补', h('label.check', inp('waitlist', { type: 'checkbox', checked: v.waitlist }), '开启候补')),
    field('报名开始', inp('opens', { type: 'datetime-local', value: toLocalInput(v.enroll_opens_at) })),
    field('报名截止', inp('closes', { type: 'datetime-local', value: toLocalInput(v.enroll_closes_at) })),
    field('简介', (f.description = h('textarea', { rows: 3, value: v.description || '' })), true)),
  err, h('div.form-actions', h('button.btn', { type: 'submit' }, o ? '保存' : '创建')));
  const close = modal(o ? `编辑：${o.name}` : '新建课程', form);
}

/** offeringDetail: one offering, its actions, roster and waitlist. */
export async function offeringDetail(el, ctx) {
  const id = ctx.args[0];
  fill(el, loading());
  const res = await api.get(`/offerings/${id}/roster`, { limit: 500 });
  // The roster is paged: read every page so a big club's list is whole.
  for (let next = res.next_cursor; next;) {
    const more = await api.get(`/offerings/${id}/roster`, { limit: 500, cursor: next });
    res.items.push(...more.items);
    next = more.next_cursor;
  }
  const o = res.offering;
  ctx.setTitle(o.name);
  const [terms, staffList] = await Promise.all([termsOf(o.school_id).catch(() => []),
    o.teacher_user_id ? schoolStaff(o.school_id).catch(() => []) : []]);
  const rollTeacher = staffList.find((u) => u.id === o.teacher_user_id);
  const reload = () => offeringDetail(el, ctx);
  const enrolled = res.items.filter((r) => r.status === 'enrolled' || r.status === 'pending_payment');
  const held = enrolled.filter((r) => r.status === 'pending_payment').length;
  const waiting = res.items.filter((r) => r.status === 'waitlisted').sort((a, b) => a.waitlist_position - b.waitlist_position);
  const applied = res.items.filter((r) => r.status === 'applied');
  const cols = [
    { key: 'student_no', label: '学号' }, { key: 'name', label: '姓名' },
    { key: 'grade', label: '年级', num: true }, { key: 'class', label: '班级' },
    { key: 'guardian_name', label: '家长' }, { key: 'guardian_phone', label: '家长电话' },
    { key: 'status', label: '状态', fmt: status, xlsx: (r) => status(r.status) },
  ];
  const exp = (format, label) => h('button.btn.ghost', {
    type: 'button', onclick: () => guard(() => api.download(`/offerings/${id}/roster`, { format })),
  }, label);
  fill(el,
    h('a.back', { href: '#/offerings' }, '← 返回课程管理'),
    h('div.page-head', h('h1', o.name, ' ', h('span.tag.' + o.status, status(o.status))),
      h('div.toolbar', h('button.btn.ghost', { type: 'button', onclick: () => editOffering(o, terms, o.term_id, o.school_id, reload) }, '编辑'),
        actions(o, reload), exp('xlsx', '导出名单 Excel'), exp('csv', '导出 CSV'))),
    h('div.grid.counts.five',
      stat('名额', num(o.capacity)), stat('已录取', num(enrolled.length - held), '已缴费或免费、减免', 'good'),
      stat('待缴费', num(held), '名额保留中', held ? 'warn' : null),
      stat('候补', num(o.waitlisted), null, o.waitlisted ? 'warn' : null), stat('剩余', num(o.remaining))),
    card('课程信息', h('dl.info',
      h('dt', '类型'), h('dd', `${KINDS[o.kind]} · ${CATEGORIES[o.category] || o.category}`),
      h('dt', '时间'), h('dd', `${fmtDays(o.weekdays)} ${o.start_time}–${o.end_time}`),
      h('dt', '教师 / 地点'), h('dd', `${o.teacher || '—'} / ${o.venue || '—'}`),
      h('dt', '点名教师'), h('dd', rollTeacher ? `${rollTeacher.display_name}（${rollTeacher.username}）` : h('span.muted', '未指定（仅学校管理员可点名）')),
      h('dt', '年级'), h('dd', fmtGrades(o.grades)),
      h('dt', '收费'), h('dd', price(o.fee_fen, o.billing)),
      h('dt', '报名'), h('dd', `${MODES[o.mode]} · ${dateTime(o.enroll_opens_at)} 至 ${dateTime(o.enroll_closes_at)}`),
      o.mode === 'lottery' ? [h('dt', '抽签'), h('dd', o.drawn_at ? `已于 ${dateTime(o.drawn_at)} 抽签` : `未抽签（${o.applied} 人报名）`)] : null,
      o.seed_sha256 ? [h('dt', '种子承诺'), h('dd.mono', o.seed_sha256)] : null,
      o.description ? [h('dt', '简介'), h('dd', o.description)] : null)),
    o.status === 'published' || o.status === 'closed' ? card('上课安排', sessionsPanel(o, true, { paid: enrolled.length - held, held }, terms.find((t) => t.id === o.term_id))) : null,
    card(`录取名单（${enrolled.length}）`, table([...cols, withdrawCol(o, waiting, reload)], enrolled, { exportName: `${o.name}-录取名单` })),
    card(`候补名单（${waiting.length}）`, table([{ key: 'waitlist_position', label: '顺位', num: true }, ...cols, withdrawCol(o, waiting, reload)], waiting,
      { exportName: `${o.name}-候补名单`, empty: '没有候补' })),
    applied.length ? card(`待抽签（${applied.length}）`, table(cols, applied, { exportName: `${o.name}-待抽签` })) : null);
}

/** withdrawCol is the roster's 退出 column: a school admin takes a child
 * off offering o (DELETE /enrollments/{id}), a seat or a waitlist place,
 * after a confirm naming the child and what follows; then the page is read
 * again. waiting: the waitlist by position. */
function withdrawCol(o, waiting, after) {
  const ask = (r) => {
    const who = `${r.name}（${r.student_no}）`;
    if (r.status === 'waitlisted') return `将 ${who} 移出「${o.name}」的候补名单？其后的候补顺位依次前移。`;
    const head = waiting[0];
    const next = head ? `名额空出后，候补第一位 ${head.name} 自动递补录取。` : '名额空出后，可由其他学生报名。';
    const money = r.status === 'pending_payment' ? '该名额尚未缴费，待缴订单作废。'
      : o.fee_fen ? '已缴费的，按所在地区的退费规则退还（微信支付原路退回，其他方式由学校线下退还）。' : '';
    return `让 ${who} 退出「${o.name}」？${next}${money}家长会收到通知。`;
  };
  return {
    key: 'enrollment_id', label: '操作', xlsx: false,
    fmt: (id, r) => h('button.btn.small.ghost.withdraw', {
      type: 'button',
      onclick: async (e) => {
        e.stopPropagation();
        if (!confirm(ask(r))) return;
        await guard(() => api.request('DELETE', `/enrollments/${id}`), `${r.name} 已退出`);
        after();
      },
    }, '退出'),
  };
}

/** terms: the school's terms, a new term, and the calendar of each. */
export async function terms(el, ctx) {
  const sid = ctx.me.school_id;
  const list = await termsOf(sid);
  const err = h('div');
  const f = {
    name: h('input', { required: true, placeholder: '如：2026秋季学期' }),
    starts_on: h('input', { type: 'date', required: true }),
    ends_on: h('input', { type: 'date', required: true }),
    max_clubs: h('input', { type: 'number', min: 0, value: 2 }),
  };
  const form = h('form.form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.request('POST', `/schools/${sid}/terms`, { body: {
          name: f.name.value.trim(), starts_on: f.starts_on.value, ends_on: f.ends_on.value, max_clubs: Number(f.max_clubs.value),
        } });
        toast('学期已创建');
        terms(el, ctx);
      } catch (e2) {
        fill(err, errorBox(e2));
      }
    },
  }, h('div.form-grid', h('label', '名称', f.name), h('label', '开始', f.starts_on), h('label', '结束', f.ends_on),
    h('label', '每人最多社团数', f.max_clubs)), err, h('div.form-actions', h('button.btn', { type: 'submit' }, '创建学期')));
  // The term in progress (or the next one) opens in the calendar editor.
  const now = new Date().toISOString().slice(0, 10);
  const current = list.find((t) => t.starts_on <= now && now <= t.ends_on) || list.find((t) => t.starts_on > now) || list[0];
  const calBox = h('div', current ? calendarEditor(current, sid, () => terms(el, ctx)) : null);
  fill(el, h('div.page-head', h('h1', '学期与校历')),
    card('学期', table([
      { key: 'name', label: '学期' }, { key: 'starts_on', label: '开始' }, { key: 'ends_on', label: '结束' },
      { key: 'max_clubs', label: '每人最多社团', num: true },
      { key: 'no_service_days', label: '停课日', fmt: (d) => (d && d.length ? d.join('、') : '无'), xlsx: (t) => (t.no_service_days || []).join('、') },
    ], list, { exportName: '学期' })),
    list.length ? card(h('div.row', h('h2', '校历'), list.length > 1 ? h('select', {
      onchange: (e) => fill(calBox, calendarEditor(list.find((t) => String(t.id) === e.target.value), sid, () => terms(el, ctx))),
    }, list.map((t) => h('option', { value: t.id, selected: t === current }, t.name))) : null), calBox) : null,
    card('新建学期', form));
}

/** lottery: draw the term's lottery offerings and show the seed. */
export async function lottery(el, ctx) {
  const sid = ctx.me.school_id;
  const list = await termsOf(sid);
  if (!list.length) return fill(el, card(null, '还没有学期。'));
  let termID = list[0].id;
  const box = h('div');
  const result = h('div');
  fill(el, h('div.page-head', h('h1', '抽签'), termPicker(list, termID, (v) => { termID = v; load(); })),
    card('抽签课程', box),
    card('立即抽签', h('p.muted', '对报名已截止、尚未抽签的抽签课程进行抽签。每门课程的种子在发布时生成，其 SHA-256 承诺事先公示；抽签时公开种子，任何人都可据此复现结果。'),
      h('div.toolbar', h('button.btn', { type: 'button', onclick: draw }, '立即抽签')), result));
  async function load() {
    const res = await api.all(`/schools/${sid}/offerings`, { term_id: termID });
    fill(box, table([
      { key: 'name', label: '课程' }, { key: 'capacity', label: '名额', num: true },
      { key: 'applied', label: '报名', num: true }, { key: 'enrolled', label: '已录取', num: true },
      { key: 'enroll_closes_at', label: '报名截止', fmt: dateTime },
      { key: 'drawn_at', label: '抽签时间', fmt: (v) => (v ? dateTime(v) : '未抽签') },
      { key: 'seed_sha256', label: '种子承诺（SHA-256）', fmt: (v) => (v ? h('span.mono.small', v.slice(0, 16) + '…') : '—') },
    ], res.items.filter((o) => o.mode === 'lottery'), { exportName: '抽签课程', onRow: (o) => { location.hash = `#/offering/${o.id}`; }, empty: '本学期没有抽签课程' }));
  }
  async function draw() {
    if (!confirm('确定现在抽签？抽签结果会立即通知家长。')) return;
    try {
      const r = await api.request('POST', `/schools/${sid}/terms/${termID}/lottery`, { body: {} });
      const seeds = (r.offering_seeds || []).map((x) => h('div.mono.small', `#${x.offering_id} 种子 ${x.seed}（SHA-256 ${x.seed_sha256}）`));
      fill(result, h('div.alert.ok', h('strong', '抽签完成'),
        h('dl.info', h('dt', '抽签种子'), h('dd.mono', String(r.seed)), h('dt', '录取'), h('dd', `${r.assigned} 人`), h('dt', '未中签'), h('dd', `${r.rejected} 人`)),
        seeds.length ? h('div', h('p.muted.small', '各课程公开的种子（可与发布时公示的承诺核对）：'), ...seeds) : null));
      load();
    } catch (e) {
      fill(result, errorBox(e));
    }
  }
  await load();
}

/** jobs: the platform admin's job runs, and running the stats job. */
export async function jobs(el) {
  const box = h('div', loading());
  fill(el, h('div.page-head', h('h1', '任务运行'), h('button.btn', {
    type: 'button', onclick: async () => { await guard(() => api.post('/jobs/stats/run'), '统计任务已运行'); load(); },
  }, '立即运行统计')), card('最近运行', box));
  async function load() {
    const res = await api.get('/jobs/runs', { limit: 50 });
    fill(box, table([
      { key: 'name', label: '任务' }, { key: 'trigger', label: '触发' }, { key: 'status', label: '结果' },
      { key: 'started_at', label: '开始', fmt: dateTime }, { key: 'ended_at', label: '结束', fmt: dateTime },
      { key: 'rows', label: '行数', num: true }, { key: 'error', label: '错误' },
    ], res.items, { exportName: '任务运行' }));
  }
  await load();
}
