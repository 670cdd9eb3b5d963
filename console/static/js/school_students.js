// school_students.js: the school's students (学生名单) — searched on the
// server by name or student number, each with its fee waiver (减免, set
// here or by the roster's optional columns) and a binding code on demand.
import * as api from './api.js';
import { h, fill, card, table, loading, errorBox, guard, toast, modal, dateTime } from './ui.js';

export const WAIVERS = { none: '无', half: '减半', full: '全免' };
export const WAIVER_REASONS = { poverty_registered: '建档立卡', dibao: '低保', disability: '残疾', other: '其他' };

/** waiverText is a student's waiver in words: 全免（低保）, or 无. */
export const waiverText = (s) => (s.fee_waiver && s.fee_waiver !== 'none'
  ? `${WAIVERS[s.fee_waiver] || s.fee_waiver}（${WAIVER_REASONS[s.waiver_reason] || s.waiver_reason || '—'}）`
  : '无');

/** students: the school's students, found by name or student number (the
 * API's q), a page of 500 at a time. */
export async function students(el, ctx) {
  const sid = ctx.me.school_id;
  const admin = ctx.me.role === 'school_admin';
  let all = [];
  let cursor = '';
  let q = '';
  let timer = 0;
  let asked = 0; // the latest search: an older answer arriving late is dropped
  const box = h('div', loading());
  const more = h('button.btn.ghost', { type: 'button', onclick: () => page() }, '加载更多');
  const search = h('input', {
    type: 'search', name: 'q', maxLength: 40, placeholder: '按姓名或学号搜索', 'aria-label': '按姓名或学号搜索',
    oninput: () => { clearTimeout(timer); timer = setTimeout(() => restart(search.value.trim()), 250); },
  });
  fill(el, h('div.page-head', h('h1', '学生名单'), h('div.toolbar', search, admin ? h('a.btn', { href: '#/import' }, '导入名单') : null)),
    card(null, box, h('div.center', more)));
  function draw() {
    const waived = all.filter((s) => s.fee_waiver && s.fee_waiver !== 'none').length;
    fill(box, h('p.muted', q ? `「${q}」：${all.length}${cursor ? '+' : ''} 名学生` : `已加载 ${all.length} 名学生`,
      waived ? `，其中 ${waived} 名有减免` : ''),
    table([
      { key: 'student_no', label: '学号' }, { key: 'name', label: '姓名' }, { key: 'gender', label: '性别' },
      { key: 'grade', label: '年级', num: true }, { key: 'class', label: '班级' },
      { key: 'fee_waiver', label: '减免', sort: (s) => ({ full: 0, half: 1 })[s.fee_waiver] ?? 2, xlsx: waiverText,
        fmt: (_, s) => h('span.waiver', s.fee_waiver !== 'none' ? h('span.tag.published', waiverText(s)) : h('span.muted', '无'),
          admin ? h('button.btn.small.ghost', { type: 'button', onclick: () => setWaiver(s, draw) }, '设置') : null) },
      { key: 'id', label: '家长绑定', xlsx: false, fmt: (_, s) => h('button.btn.small.ghost', { type: 'button', onclick: () => bindingCode(s) }, '发放绑定码') },
    ], all, { exportName: q ? `学生名单-${q}` : '学生名单', empty: q ? '没有匹配的学生' : '还没有学生，请先导入名单' }));
  }
  async function restart(next) {
    q = next;
    all = [];
    cursor = '';
    fill(box, loading());
    await page();
  }
  async function page() {
    const mine = ++asked;
    try {
      const res = await api.get(`/schools/${sid}/students`, { limit: 500, cursor, q: q || undefined });
      if (mine !== asked) return;
      all = all.concat(res.items);
      cursor = res.next_cursor;
      more.hidden = !cursor;
      draw();
    } catch (e) {
      if (mine === asked) fill(box, errorBox(e));
    }
  }
  await page();
}

// setWaiver asks for a student's waiver and its reason (PATCH
// /students/{id}); it applies to orders made from then on.
function setWaiver(s, after) {
  const waiver = h('select', { name: 'fee_waiver' }, Object.entries(WAIVERS).map(([k, l]) => h('option', { value: k, selected: k === s.fee_waiver }, l)));
  const reason = h('select', { name: 'waiver_reason' }, h('option', { value: '' }, '—'),
    Object.entries(WAIVER_REASONS).map(([k, l]) => h('option', { value: k, selected: k === s.waiver_reason }, l)));
  const err = h('div');
  const sync = () => { reason.disabled = waiver.value === 'none'; if (reason.disabled) reason.value = ''; };
  waiver.addEventListener('change', sync);
  sync();
  const form = h('form.form',
    h('p', `${s.name}（学号 ${s.student_no}，${s.grade}年级${s.class}）`),
    h('div.form-grid', h('label', '减免', waiver), h('label', '原因', reason)),
    h('p.muted.small', '减免只用于此后生成的订单，已生成的订单不变；每次修改都记入审计。'),
    err, h('div.form-actions', h('button.btn', { type: 'submit' }, '保存')));
  const close = modal('困难家庭减免', form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api.patch(`/students/${s.id}`, { fee_waiver: waiver.value, waiver_reason: reason.value || null });
      s.fee_waiver = r.fee_waiver;
      s.waiver_reason = r.waiver_reason || '';
    } catch (e2) {
      fill(err, errorBox(e2));
      return;
    }
    close();
    toast('已保存减免');
    after();
  });
}

async function bindingCode(s) {
  const bc = await guard(() => api.post(`/students/${s.id}/binding-codes`, {}));
  modal('家长绑定码', h('div.center',
    h('p', `${s.name}（学号 ${s.student_no}）`),
    h('div.code', bc.binding_code || bc.code),
    h('p.muted', `有效期至 ${dateTime(bc.expires_at)}。绑定码只显示这一次，请交给学生家长在小程序中填写。`)));
}
