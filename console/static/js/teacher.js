// teacher.js: the daily loop on a phone — today's sessions, the roll (leave
// pre-filled, one tap per child, submit) and dismissal, one child at a time.
import * as api from './api.js';
import { h, fill, card, loading, errorBox, toast, today, dateTime } from './ui.js';

const MARKS = [['present', '出勤'], ['absent', '缺勤'], ['leave', '请假'], ['late', '迟到']];
const LEFT_BY = [['guardian', '家长接'], ['self', '自行'], ['bus', '校车'], ['other', '其他']];
const LEFT_PHRASE = { guardian: '家长接走', self: '自行离校', bus: '校车送离', other: '其他方式离校' };
const ADMINS = ['school_admin', 'platform_admin'];

/** clock shows an RFC 3339 instant as HH:MM in Beijing time. */
function clock(s) {
  return new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false })
    .format(new Date(s));
}

/** monthDay is a date as a family reads it: "12月9日". */
function monthDay(d) {
  return `${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`;
}

/** startsWhen is when session s starts: its time, and its day unless
 * that is today ("12月9日 16:30"). */
function startsWhen(s) {
  return s.date === today() ? s.start_time : `${monthDay(s.date)} ${s.start_time}`;
}

/** today lists the sessions the signed-in teacher (or school admin) marks
 * on a date, today by default. */
export async function today_(el, ctx) {
  let date = (ctx && /^\d{4}-\d{2}-\d{2}$/.test(ctx.args[0] || '')) ? ctx.args[0] : today();
  const box = h('div', loading());
  const picker = h('input', { type: 'date', value: date, onchange: () => { date = picker.value; load(); } });
  const title = h('h1');
  fill(el, h('div.page-head', title, h('label.inline', '日期 ', picker)), box);
  async function load() {
    title.textContent = date === today() ? '今日课程' : `${monthDay(date)}课程`;
    fill(box, loading());
    try {
      const res = await api.all('/me/sessions', { date });
      if (!res.items.length) return fill(box, card(null, h('p.center.muted', `${date} 没有需要点名的课程。`)));
      fill(box, h('div.sessions', res.items.map((s) => h('a.session' + (s.status === 'cancelled' ? '.cancelled' : ''), {
        href: s.status === 'cancelled' ? undefined : `#/roll/${s.id}`,
      },
      h('div.session-time', `${s.start_time}–${s.end_time}`),
      h('div.session-name', s.offering_name || `课程 ${s.offering_id}`),
      h('div.session-meta', s.venue || ''),
      h('div.session-state', s.status === 'cancelled' ? h('span.tag.bad', '已停课')
        : s.roll_taken_at ? h('span.tag.good', '已点名')
          : new Date(s.starts_at) > new Date() ? h('span.tag', '未开始') : h('span.tag.warn', '未点名'))))));
    } catch (e) {
      fill(box, errorBox(e));
    }
  }
  await load();
}
export { today_ as today };

/** roll: one session's children; a tap sets a child's mark; submit sends
 * the marked children. Where the roll stands comes from the server
 * (window): before the start nothing is pre-filled or sent ("未开始");
 * on the day unmarked children start as present; after the day only an
 * admin corrects, with a reason. Then dismissal, one child at a time, for
 * the children who came. */
export async function roll(el, ctx) {
  const id = ctx.args[0];
  fill(el, loading());
  const r = await api.get(`/sessions/${id}/roll`);
  const s = r.session;
  const win = r.window || 'open';
  const admin = ADMINS.includes(ctx.me && ctx.me.role);
  const canMark = win === 'open' || (win === 'after_day' && admin);
  ctx.setTitle(s.offering_name || '点名');
  // Before the start and after the day a child's mark is what was recorded
  // (or leave); only on the day does an unmarked child start as present.
  const marks = new Map(r.items.map((c) => [c.student_id, c.status || (win === 'open' ? 'present' : null)]));
  const summary = h('div.roll-summary');
  const rows = r.items.map((c) => {
    const btns = MARKS.map(([k, label]) => h('button.mark.' + k, {
      type: 'button', dataset: { status: k }, disabled: !canMark,
      onclick: () => { marks.set(c.student_id, k); paint(); },
    }, label));
    // A refusal about this child (422 already_dismissed) shows here.
    const msg = h('div.row-error');
    const row = h('li.child', { dataset: { student: c.student_id } },
      h('div.child-name', c.name, h('span.muted.small', ` ${c.grade}年级${c.class}`),
        c.leave ? h('div.leave-note', `已请假：${c.leave.reason || ''}`) : null,
        !c.marked ? null : h('span.tag.small', '已记录'),
        c.dismissed_at ? h('div.left-note', `已离校 ${clock(c.dismissed_at)} ${LEFT_PHRASE[c.dismissed_by] || c.dismissed_by}`) : null),
      h('div.marks', btns), msg);
    row._btns = btns;
    row._id = c.student_id;
    row._msg = msg;
    row._name = c.name;
    return row;
  });
  function paint() {
    const count = { present: 0, absent: 0, leave: 0, late: 0, none: 0 };
    for (const row of rows) {
      const m = marks.get(row._id);
      count[m || 'none']++;
      for (const b of row._btns) b.classList.toggle('on', b.dataset.status === m);
    }
    fill(summary, h('span', `应到 ${rows.length}`), MARKS.map(([k, l]) => h('span.sum.' + k, `${l} ${count[k]}`)),
      count.none ? h('span.sum.none', `未点 ${count.none}`) : null);
  }
  const state = {
    cancelled: h('div.roll-state.bad', `已停课${s.cancel_reason ? '：' + s.cancel_reason : ''}`),
    not_started: h('div.roll-state.wait', `未开始 · ${startsWhen(s)} 开始后才能点名`),
    after_day: admin ? h('div.roll-state.wait', '往日考勤：更正须填写原因，家长不会收到通知')
      : h('div.roll-state.wait', '当天点名已结束；更正往日考勤请联系学校管理员'),
  }[win] || null;
  // The error and the reason sit in the sticky foot, beside the button the
  // teacher just pressed: on a phone the end of the list is off screen.
  const err = h('div.roll-error');
  const reason = win === 'after_day' && admin
    ? h('textarea.reason', { name: 'reason', rows: 2, maxlength: 200, placeholder: '更正原因（必填），如：家长补交病假条' }) : null;
  const submit = h('button.btn.block.big', {
    type: 'button',
    disabled: !canMark,
    onclick: async () => {
      fill(err);
      for (const row of rows) { fill(row._msg); row.classList.remove('refused'); }
      const records = [...marks].filter(([, st]) => st).map(([sid, st]) => ({ student_id: sid, status: st }));
      if (!records.length) return fill(err, h('div.alert.error', '请先为学生选择出勤情况'));
      const body = { records };
      if (reason) {
        if (!reason.value.trim()) {
          fill(err, h('div.alert.error', '更正往日考勤须填写原因'));
          reason.focus();
          return;
        }
        body.reason = reason.value.trim();
      }
      submit.disabled = true;
      try {
        await api.put(`/sessions/${id}/attendance`, body);
        toast('点名已提交');
        document.body.dataset.rollSaved = id;
        roll(el, ctx);
      } catch (e) {
        // A refusal naming a child sits beside that child (nothing was
        // saved: the foot says so); any other beside the button.
        const sid = e && e.body && e.body.student_id;
        const row = sid && rows.find((x) => x._id === sid);
        if (row) {
          fill(row._msg, errorBox(e));
          row.classList.add('refused');
          fill(err, h('div.alert.error', `未提交：请先改正 ${row._name} 的出勤情况`));
          row.scrollIntoView({ block: 'center' });
        } else {
          fill(err, errorBox(e));
          err.scrollIntoView({ block: 'nearest' });
        }
        submit.disabled = false;
      }
    },
  }, win === 'not_started' ? `${startsWhen(s)} 开始后点名` : s.roll_taken_at ? '更新点名' : '提交点名');
  paint();
  const tag = s.roll_taken_at ? h('div.tag.good', `已于 ${dateTime(s.roll_taken_at)} 点名`)
    : win === 'not_started' ? h('div.tag', '未开始') : win === 'cancelled' ? null : h('div.tag.warn', '未点名');
  fill(el,
    h('a.back', { href: '#/today/' + s.date }, s.date === today() ? '← 今日课程' : `← ${monthDay(s.date)}课程`),
    h('div.roll-head', h('h1', s.offering_name || '点名'),
      h('div.muted', `${s.date} ${s.start_time}–${s.end_time} ${s.venue || ''}`), tag),
    state,
    summary,
    rows.length ? h('ul.roll', rows) : card(null, h('p.center.muted', '这节课没有学生。')),
    rows.length && win !== 'cancelled' ? h('div.sticky-foot', err, reason, submit) : err,
    s.roll_taken_at && canMark ? dismissal(s, win, r.items) : null);
}

/** dismissal: the children who came (present or late on the saved roll),
 * each with the ways to leave and a button of its own — nothing is sent
 * for a child until that child's button is pressed. A dismissed child's
 * row shows when and how, in place (a correction is offered). After the
 * day the time the child left and a reason are required. */
function dismissal(s, win, items) {
  const late = win === 'after_day';
  const came = items.filter((c) => c.marked && (c.status === 'present' || c.status === 'late'));
  const left = new Map(came.filter((c) => c.dismissed_at).map((c) => [c.student_id, { by: c.dismissed_by, at: c.dismissed_at }]));
  const count = h('span.muted');
  const reason = late ? h('input.reason', { name: 'dismissal-reason', maxlength: 200, placeholder: '补记或更正原因（必填）' }) : null;
  const paintCount = () => fill(count, `已离校 ${left.size} / 到校 ${came.length}`);
  const rows = came.map((c) => {
    const row = h('li.child.leaving', { dataset: { student: c.student_id } });
    let choice = null;
    let editing = false;
    const render = () => {
      const done = left.get(c.student_id);
      row.classList.toggle('left', !!done);
      const name = h('div.child-name', c.name, c.status === 'late' ? h('span.tag.small', '迟到') : null,
        done ? h('div.left-note', `已离校 ${clock(done.at)} ${LEFT_PHRASE[done.by] || done.by}`) : null);
      if (done && !editing) {
        return fill(row, name, h('div.marks', h('button.mark.fix', { type: 'button', onclick: () => { editing = true; choice = done.by; render(); } }, '更正')));
      }
      const msg = h('div.row-error');
      const time = late ? h('input.left-time', { type: 'time', value: done ? clock(done.at) : '', 'aria-label': '离校时间' }) : null;
      const confirm = h('button.btn.confirm-left', {
        type: 'button', disabled: !choice,
        onclick: async () => {
          fill(msg);
          const rec = { student_id: c.student_id, by: choice };
          const body = { records: [rec] };
          if (late) {
            if (!time.value) return fill(msg, h('div.alert.error', '请填写离校时间'));
            if (!reason.value.trim()) { reason.focus(); return fill(msg, h('div.alert.error', '往日补记或更正须填写原因')); }
            rec.at = `${s.date}T${time.value}:00+08:00`;
            body.reason = reason.value.trim();
          }
          confirm.disabled = true;
          try {
            const res = await api.post(`/sessions/${s.id}/dismissal`, body);
            const first = !done;
            for (const d of res.items) left.set(d.student_id, { by: d.by, at: d.at });
            editing = false;
            choice = null;
            render();
            paintCount();
            toast(first && !late ? `${c.name} 已离校，家长会收到通知` : `${c.name} 的离校记录已更新`);
          } catch (e) {
            fill(msg, errorBox(e));
            confirm.disabled = false;
          }
        },
      }, done ? '保存更正' : '确认离校');
      const btns = LEFT_BY.map(([k, l]) => h('button.mark' + (choice === k ? '.on' : ''), {
        type: 'button', dataset: { by: k },
        onclick: () => { choice = k; for (const b of btns) b.classList.toggle('on', b.dataset.by === k); confirm.disabled = false; },
      }, l));
      fill(row, name, h('div.leave-by', h('div.marks', btns), time, confirm,
        done ? h('button.btn.ghost', { type: 'button', onclick: () => { editing = false; render(); } }, '取消') : null), msg);
    };
    render();
    return row;
  });
  paintCount();
  return card(h('div.card-title-row', h('h2', '离校登记'), count),
    h('p.muted.small', late ? '补记往日离校：选择离校方式、填写时间和原因，逐个确认；家长不会收到通知。'
      : '学生离开时，选择离校方式并点“确认离校”，家长随即收到通知；每次只登记一个学生。'),
    reason,
    rows.length ? h('ul.roll.dismissal', rows) : h('p.muted', '没有到校的学生。'));
}
