// teacher.js: the daily loop on a phone — today's sessions, the roll (leave
// pre-filled, one tap per child, submit) and dismissal.
import * as api from './api.js';
import { h, fill, card, loading, errorBox, toast, today, dateTime } from './ui.js';

const MARKS = [['present', '出勤'], ['absent', '缺勤'], ['leave', '请假'], ['late', '迟到']];
const LEFT_BY = [['guardian', '家长接'], ['self', '自行离校'], ['bus', '校车'], ['other', '其他']];

/** today lists the sessions the signed-in teacher (or school admin) marks
 * on a date, today by default. */
export async function today_(el, ctx) {
  let date = (ctx && /^\d{4}-\d{2}-\d{2}$/.test(ctx.args[0] || '')) ? ctx.args[0] : today();
  const box = h('div', loading());
  const picker = h('input', { type: 'date', value: date, onchange: () => { date = picker.value; load(); } });
  fill(el, h('div.page-head', h('h1', '今日课程'), h('label.inline', '日期 ', picker)), box);
  async function load() {
    fill(box, loading());
    try {
      const res = await api.get('/me/sessions', { date });
      if (!res.items.length) return fill(box, card(null, h('p.center.muted', `${date} 没有需要点名的课程。`)));
      fill(box, h('div.sessions', res.items.map((s) => h('a.session' + (s.status === 'cancelled' ? '.cancelled' : ''), {
        href: s.status === 'cancelled' ? undefined : `#/roll/${s.id}`,
      },
      h('div.session-time', `${s.start_time}–${s.end_time}`),
      h('div.session-name', s.offering_name || `课程 ${s.offering_id}`),
      h('div.session-meta', s.venue || ''),
      h('div.session-state', s.status === 'cancelled' ? h('span.tag.bad', '已停课')
        : s.roll_taken_at ? h('span.tag.good', '已点名') : h('span.tag.warn', '未点名'))))));
    } catch (e) {
      fill(box, errorBox(e));
    }
  }
  await load();
}
export { today_ as today };

/** roll: one session's children; a tap sets a child's mark; submit sends
 * the whole roll. Then dismissal for the children who came. */
export async function roll(el, ctx) {
  const id = ctx.args[0];
  fill(el, loading());
  const r = await api.get(`/sessions/${id}/roll`);
  const s = r.session;
  ctx.setTitle(s.offering_name || '点名');
  const marks = new Map(r.items.map((c) => [c.student_id, c.status || (c.leave ? 'leave' : 'present')]));
  const summary = h('div.roll-summary');
  const rows = r.items.map((c) => {
    const btns = MARKS.map(([k, label]) => h('button.mark.' + k, {
      type: 'button', dataset: { status: k },
      onclick: () => { marks.set(c.student_id, k); paint(); },
    }, label));
    const row = h('li.child', { dataset: { student: c.student_id } },
      h('div.child-name', c.name, h('span.muted.small', ` ${c.grade}年级${c.class}`),
        c.leave ? h('div.leave-note', `已请假：${c.leave.reason || ''}`) : null,
        !c.marked ? null : h('span.tag.small', '已记录')),
      h('div.marks', btns));
    row._btns = btns;
    row._id = c.student_id;
    return row;
  });
  function paint() {
    const count = { present: 0, absent: 0, leave: 0, late: 0 };
    for (const row of rows) {
      const m = marks.get(row._id);
      count[m]++;
      for (const b of row._btns) b.classList.toggle('on', b.dataset.status === m);
    }
    fill(summary, h('span', `应到 ${rows.length}`), MARKS.map(([k, l]) => h('span.sum.' + k, `${l} ${count[k]}`)));
  }
  const err = h('div');
  const submit = h('button.btn.block.big', {
    type: 'button',
    onclick: async () => {
      submit.disabled = true;
      fill(err);
      try {
        await api.put(`/sessions/${id}/attendance`, { records: [...marks].map(([sid, st]) => ({ student_id: sid, status: st })) });
        toast('点名已提交');
        document.body.dataset.rollSaved = id;
        roll(el, ctx);
      } catch (e) {
        fill(err, errorBox(e));
        submit.disabled = false;
      }
    },
  }, s.roll_taken_at ? '更新点名' : '提交点名');
  paint();
  fill(el,
    h('a.back', { href: '#/today' }, '← 今日课程'),
    h('div.roll-head', h('h1', s.offering_name || '点名'),
      h('div.muted', `${s.date} ${s.start_time}–${s.end_time} ${s.venue || ''}`),
      s.roll_taken_at ? h('div.tag.good', `已于 ${dateTime(s.roll_taken_at)} 点名`) : null),
    summary,
    rows.length ? h('ul.roll', rows) : card(null, h('p.center.muted', '这节课没有学生。')),
    err, rows.length ? h('div.sticky-foot', submit) : null,
    s.roll_taken_at ? dismissal(id, r.items) : null);
}

function dismissal(id, items) {
  const came = items.filter((c) => c.status === 'present' || c.status === 'late');
  const by = new Map(came.map((c) => [c.student_id, c.dismissed_by || 'guardian']));
  const rows = came.map((c) => {
    const btns = LEFT_BY.map(([k, l]) => h('button.mark', { type: 'button', dataset: { by: k }, onclick: () => { by.set(c.student_id, k); paint(); } }, l));
    const row = h('li.child', h('div.child-name', c.name,
      c.dismissed_at ? h('div.muted.small', `已离校 ${dateTime(c.dismissed_at)}`) : null), h('div.marks', btns));
    row._btns = btns;
    row._id = c.student_id;
    return row;
  });
  function paint() {
    for (const row of rows) for (const b of row._btns) b.classList.toggle('on', b.dataset.by === by.get(row._id));
  }
  paint();
  const err = h('div');
  return card('离校登记', rows.length ? h('ul.roll', rows) : h('p.muted', '没有到校的学生。'), err,
    rows.length ? h('button.btn.block', {
      type: 'button',
      onclick: async () => {
        try {
          await api.post(`/sessions/${id}/dismissal`, { records: [...by].map(([sid, b]) => ({ student_id: sid, by: b })) });
          toast('离校已登记，家长会收到通知');
        } catch (e) {
          fill(err, errorBox(e));
        }
      },
    }, '登记离校') : null);
}
