// school_people.js: the school admin's people pages — the staff accounts
// (list, and a new teacher or admin with the name people read), the leave
// requests of a student, and the guardians' requests to delete a child's
// data (confirmed by the school).
import * as api from './api.js';
import { h, fill, card, stat, num, table, loading, errorBox, guard, toast, dateTime, today } from './ui.js';

const ROLES = { teacher: '教师', school_admin: '学校管理员' };

/** schoolStaff reads the school's teachers and admins (the offering form's
 * teacher picker uses it too). */
export async function schoolStaff(sid) {
  return (await api.all(`/schools/${sid}/staff`)).items;
}

/** staff: the school's staff accounts and a form for a new one. */
export async function staff(el, ctx) {
  const sid = ctx.me.school_id;
  const box = h('div', loading());
  const err = h('div');
  const f = {
    display_name: h('input', { required: true, maxLength: 32, placeholder: '如：王芳老师', autocomplete: 'off' }),
    username: h('input', { required: true, minLength: 3, maxLength: 32, pattern: '[A-Za-z0-9_.\\-]+', placeholder: '如：wangfang', autocomplete: 'off' }),
    password: h('input', { type: 'password', required: true, minLength: 8, maxLength: 72, autocomplete: 'new-password' }),
    role: h('select', Object.entries(ROLES).map(([k, l]) => h('option', { value: k }, l))),
  };
  const form = h('form.form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const u = await api.request('POST', '/users', { body: {
          display_name: f.display_name.value.trim(), username: f.username.value.trim(), password: f.password.value,
          role: f.role.value, school_id: sid,
        } });
        fill(err);
        form.reset();
        toast(`已创建「${u.display_name}」，首次登录时需自行设置新密码`);
        load();
      } catch (e2) {
        fill(err, errorBox(e2));
      }
    },
  }, h('div.form-grid',
    h('label', '姓名', f.display_name), h('label', '登录用户名', f.username),
    h('label', '初始密码', f.password), h('label', '角色', f.role)),
  h('p.muted.small', '初始密码只用于第一次登录：本人登录后须立即设置自己的密码。点名记录与操作日志显示姓名。'),
  err, h('div.form-actions', h('button.btn', { type: 'submit' }, '创建账号')));
  fill(el, h('div.page-head', h('h1', '教职工账号')), card('教职工', box), card('新建账号', form));
  async function load() {
    try {
      const items = await schoolStaff(sid);
      fill(box, h('div.grid.counts',
        stat('教师', num(items.filter((u) => u.role === 'teacher' && !u.disabled).length)),
        stat('学校管理员', num(items.filter((u) => u.role === 'school_admin' && !u.disabled).length)),
        stat('待设置密码', num(items.filter((u) => u.must_change_password).length), '尚未首次登录', 'none')),
      table([
        { key: 'display_name', label: '姓名' },
        { key: 'username', label: '登录用户名' },
        { key: 'role', label: '角色', fmt: (r) => ROLES[r] || r, xlsx: (u) => ROLES[u.role] || u.role },
        { key: 'disabled', label: '状态', fmt: (d, u) => (d ? h('span.tag.cancelled', '已停用') : u.must_change_password ? h('span.tag.draft', '待首次登录') : h('span.tag.published', '正常')),
          xlsx: (u) => (u.disabled ? '已停用' : '正常') },
        { key: 'created_at', label: '创建时间', fmt: dateTime },
        { key: 'id', label: '操作', xlsx: false, fmt: (id, u) => (id === ctx.me.id ? h('span.muted.small', '本人')
          : h('button.btn.small' + (u.disabled ? '.ghost' : '.danger'), { type: 'button', onclick: () => toggle(u) }, u.disabled ? '启用' : '停用')) },
      ], items, { exportName: '教职工账号', sortKey: 'role', sortDir: -1 }));
    } catch (e) {
      fill(box, errorBox(e));
    }
  }
  // toggle disables an account (a teacher who left: signed out within
  // seconds, cannot log in) or enables it again, after a confirm.
  async function toggle(u) {
    const who = `${u.display_name}（${u.username}）`;
    const ask = u.disabled
      ? `启用 ${who} 的账号？启用后可用原密码登录。`
      : `停用 ${who} 的账号？停用后该账号立即退出登录、不能再登录；点名记录和操作日志保留，可随时重新启用。`
        + (u.role === 'teacher' ? '其负责点名的课程请另行指定点名教师。' : '');
    if (!confirm(ask)) return;
    await guard(() => api.request('PATCH', `/users/${u.id}`, { body: { disabled: !u.disabled } }),
      u.disabled ? `已启用 ${u.display_name}` : `已停用 ${u.display_name}`);
    load();
  }
  await load();
}

/** allStudents reads every page of the school's students. */
async function allStudents(sid) {
  let all = [];
  for (let cursor = '', first = true; first || cursor; first = false) {
    const res = await api.get(`/schools/${sid}/students`, { limit: 500, cursor });
    all = all.concat(res.items);
    cursor = res.next_cursor;
  }
  return all;
}

const LEAVE = { active: '有效', cancelled: '已撤销' };

/** offeringNames maps the school's offerings' ids to their names: a leave
 * request names the clubs it covers by id. Read once per page; when it
 * cannot be read the ids are shown. */
async function offeringNames(sid) {
  const m = new Map();
  try {
    for (const o of (await api.all(`/schools/${sid}/offerings`)).items) m.set(o.id, o.name);
  } catch { /* the ids stand in */ }
  return m;
}

/** scopeCol is a leave table's 范围 column: the clubs it covers by name
 * (wrapping), or 全部课程. */
const scopeCol = (names) => {
  const text = (ids) => (ids && ids.length ? ids.map((id) => names.get(id) || `#${id}`).join('、') : '全部课程');
  return { key: 'offering_ids', label: '范围', fmt: (ids) => h('span.wrap', text(ids)), xlsx: (r) => text(r.offering_ids) };
};
// A leave's days: one day, or from … to ….
const leaveDays = (r) => (r.from === r.to ? r.from : `${r.from} 至 ${r.to}`);

/** leave: the school's leave requests (filed by guardians in the
 * mini-program) — all of them, by status and the days they cover — and a
 * student's own, found by name, student number or class. */
export async function leave(el, ctx) {
  const sid = ctx.me.school_id;
  const list = h('div', loading());
  const detail = h('div', h('p.muted', '在左侧选择一名学生，查看家长提交的请假申请。'));
  const filter = h('input', { type: 'search', placeholder: '姓名、学号或班级', oninput: () => draw() });
  const names = offeringNames(sid);
  fill(el, h('div.page-head', h('h1', '请假申请')), schoolLeaves(sid, names),
    h('div.grid.two.leave-split', card(h('div.row', h('h2', '学生'), filter), list), card('请假记录', detail)));
  const students = await allStudents(sid);
  function draw() {
    const q = filter.value.trim();
    const rows = (q ? students.filter((s) => [s.name, s.student_no, s.class, `${s.grade}年级`].some((x) => String(x).includes(q))) : students).slice(0, 200);
    fill(list, table([
      { key: 'name', label: '姓名' }, { key: 'student_no', label: '学号' },
      { key: 'grade', label: '年级', num: true }, { key: 'class', label: '班级' },
    ], rows, { onRow: show, empty: '没有匹配的学生' }), rows.length === 200 ? h('p.muted.small', '只显示前200名，请输入筛选条件') : null);
  }
  async function show(s) {
    fill(detail, loading());
    try {
      const [res, byID] = await Promise.all([api.get(`/students/${s.id}/leave-requests`, { limit: 100 }), names]);
      // Half the page wide: the days in one column, the clubs and the
      // reason wrap, the filing time is in the export only.
      fill(detail, h('p', h('strong', s.name), h('span.muted', ` ${s.grade}年级${s.class} · 学号 ${s.student_no}`)),
        table([
          { key: 'from', label: '日期', fmt: (_, r) => leaveDays(r), xlsx: leaveDays },
          scopeCol(byID),
          { key: 'reason', label: '事由', fmt: (v) => h('span.wrap', v || '—') },
          { key: 'status', label: '状态', fmt: (v) => h('span.tag.' + (v === 'active' ? 'published' : 'cancelled'), LEAVE[v] || v), xlsx: (r) => LEAVE[r.status] || r.status },
          { key: 'created_at', label: '提交时间', xlsxOnly: true, xlsx: (r) => dateTime(r.created_at) },
        ], res.items, { empty: '没有请假记录', exportName: `请假-${s.name}` }));
    } catch (e) {
      fill(detail, errorBox(e));
    }
  }
  draw();
}

// schoolLeaves is the card of the school's leave requests, newest first
// (GET /schools/{id}/leave-requests): a status and the days they cover
// (today onward by default: who is away), 100 at a time.
function schoolLeaves(sid, names) {
  const box = h('div.school-leaves', loading());
  const status = h('select', { name: 'status' }, h('option', { value: 'active' }, '有效'), h('option', { value: 'cancelled' }, '已撤销'), h('option', { value: '' }, '全部'));
  const from = h('input', { type: 'date', name: 'from', value: today() });
  const to = h('input', { type: 'date', name: 'to' });
  const more = h('button.btn.ghost', { type: 'button', hidden: true, onclick: () => page() }, '加载更多');
  let rows = [];
  let cursor = '';
  let asked = 0;
  const restart = () => { rows = []; cursor = ''; fill(box, loading()); page(); };
  for (const x of [status, from, to]) x.addEventListener('change', restart);
  async function page() {
    const mine = ++asked;
    try {
      const [res, byID] = await Promise.all([
        api.get(`/schools/${sid}/leave-requests`, { status: status.value, from: from.value, to: to.value, limit: 100, cursor }), names]);
      if (mine !== asked) return;
      rows = rows.concat(res.items);
      cursor = res.next_cursor;
      more.hidden = !cursor;
      fill(box, table([
        { key: 'student_name', label: '学生', fmt: (v, r) => h('div', v, h('div.muted.small', `${r.grade}年级${r.class} · ${r.student_no}`)),
          xlsx: (r) => `${r.student_name}（${r.grade}年级${r.class}，${r.student_no}）` },
        { key: 'from', label: '开始' }, { key: 'to', label: '结束' },
        scopeCol(byID),
        { key: 'reason', label: '事由', fmt: (v) => h('span.wrap', v || '—') },
        { key: 'status', label: '状态', fmt: (v) => h('span.tag.' + (v === 'active' ? 'published' : 'cancelled'), LEAVE[v] || v), xlsx: (r) => LEAVE[r.status] || r.status },
        { key: 'created_at', label: '提交时间', fmt: dateTime },
      ], rows, { empty: '没有符合条件的请假申请', exportName: '全校请假' }));
    } catch (e) {
      if (mine === asked) fill(box, errorBox(e));
    }
  }
  page();
  return card(h('div.row', h('h2', '全校请假'), h('div.toolbar', h('label', '状态 ', status), h('label', '从 ', from), h('label', '至 ', to))),
    box, h('div.center', more));
}

const DELETION = { pending: '待确认', done: '已删除' };

/** deletions: guardians' requests to delete a child's data; the school
 * confirms each (the data the law requires to keep is kept, the rest goes). */
export async function deletions(el, ctx) {
  const sid = ctx.me.school_id;
  const box = h('div', loading());
  let which = 'pending';
  const tabs = h('div.toolbar', Object.entries(DELETION).map(([k, l]) => h('button.btn.small' + (k === which ? '' : '.ghost'), {
    type: 'button', onclick: () => { which = k; [...tabs.children].forEach((b, i) => b.classList.toggle('ghost', Object.keys(DELETION)[i] !== k)); load(); },
  }, l)));
  fill(el, h('div.page-head', h('h1', '数据删除申请'), tabs),
    card(null, h('p.muted', '家长可在小程序中申请删除孩子的个人信息。学校核实后确认：学生的档案、报名与考勤中的个人信息将被删除，法律要求保留的记录只保留不含个人信息的部分。'), box));
  const names = new Map((await allStudents(sid).catch(() => [])).map((s) => [s.id, s]));
  async function load() {
    fill(box, loading());
    try {
      const res = await api.get(`/schools/${sid}/deletion-requests`, { status: which, limit: 100 });
      fill(box, table([
        { key: 'student_id', label: '学生', fmt: (id) => (names.get(id) ? `${names.get(id).name}（${names.get(id).grade}年级${names.get(id).class}）` : `#${id}`) },
        { key: 'reason', label: '家长说明' },
        { key: 'created_at', label: '申请时间', fmt: dateTime },
        { key: 'status', label: '状态', fmt: (v) => h('span.tag.' + (v === 'pending' ? 'draft' : 'cancelled'), DELETION[v] || v) },
        { key: 'id', label: '操作', xlsx: false, fmt: (id, r) => (r.status === 'pending' ? h('button.btn.small.danger', {
          type: 'button',
          onclick: async (e) => {
            e.stopPropagation();
            const who = names.get(r.student_id)?.name || `#${r.student_id}`;
            if (!confirm(`确认删除「${who}」的个人信息？此操作不可撤销。`)) return;
            await guard(() => api.post(`/deletion-requests/${id}/confirm`), '已删除');
            load();
          },
        }, '确认删除') : dateTime(r.decided_at)) },
      ], res.items, { empty: which === 'pending' ? '没有待确认的申请' : '没有记录' }));
    } catch (e) {
      fill(box, errorBox(e));
    }
  }
  await load();
}
