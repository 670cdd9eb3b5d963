// school_calendar.js: the term calendar editor. A school day clicked
// becomes a no-service day (停课日) and back; a weekend day clicked becomes a
// make-up school day (调休上课日) running a weekday's timetable, chosen
// beside it. Nothing is sent until 保存校历: the change is shown first (the
// days added and removed), then PUT /schools/{id}/terms/{term_id}/calendar.
// The server cancels the sessions of a day taken away, today's included, and
// tells the families (docs/attendance.md).
import * as api from './api.js';
import { h, fill, errorBox, toast, today, WEEKDAYS } from './ui.js';

const iso = (d) => d.toISOString().slice(0, 10);
const shortDay = (s) => `${Number(s.slice(5, 7))}月${Number(s.slice(8, 10))}日`;

/** calendarEditor draws term t's months, editable; onSaved(term) runs
 * after a save. */
export function calendarEditor(t, schoolID, onSaved) {
  const saved = { off: new Set(t.no_service_days || []), extra: new Map((t.extra_days || []).map((d) => [d.date, d.as_weekday])) };
  const off = new Set(saved.off);
  const extra = new Map(saved.extra);
  const start = new Date(t.starts_on + 'T00:00:00Z');
  const end = new Date(t.ends_on + 'T00:00:00Z');
  const now = today();
  const asWeekday = h('select', { 'aria-label': '调休上课日按周几的课表' },
    [1, 2, 3, 4, 5].map((d) => h('option', { value: d }, `按${WEEKDAYS[d]}课表`)));
  const monthsBox = h('div.months');
  const changes = h('div.cal-changes');
  const err = h('div');
  const saveBtn = h('button.btn', { type: 'button', disabled: true, onclick: save }, '保存校历');
  const resetBtn = h('button.btn.ghost', { type: 'button', disabled: true, onclick: reset }, '撤销修改');

  function toggle(day, wd) {
    if (wd >= 5) {
      if (extra.has(day)) extra.delete(day); else extra.set(day, Number(asWeekday.value));
    } else if (off.has(day)) off.delete(day); else off.add(day);
    draw();
  }
  function reset() {
    off.clear(); saved.off.forEach((d) => off.add(d));
    extra.clear(); saved.extra.forEach((v, k) => extra.set(k, v));
    draw();
  }
  function diff() {
    const added = [...off].filter((d) => !saved.off.has(d)).sort();
    const removed = [...saved.off].filter((d) => !off.has(d)).sort();
    const extraAdded = [...extra.keys()].filter((d) => saved.extra.get(d) !== extra.get(d)).sort();
    const extraRemoved = [...saved.extra.keys()].filter((d) => !extra.has(d)).sort();
    return { added, removed, extraAdded, extraRemoved };
  }
  function draw() {
    const months = [];
    for (let m = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1)); m <= end; m.setUTCMonth(m.getUTCMonth() + 1)) {
      const cells = [];
      const first = (new Date(m).getUTCDay() + 6) % 7;
      for (let i = 0; i < first; i++) cells.push(h('span.day.pad'));
      const days = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 0)).getUTCDate();
      for (let d = 1; d <= days; d++) {
        const date = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth(), d));
        const day = iso(date);
        const wd = (date.getUTCDay() + 6) % 7;
        let cls = 'day';
        let title = '';
        const inTerm = date >= start && date <= end;
        if (!inTerm) cls += '.outside';
        else if (off.has(day)) { cls += '.off'; title = '停课日（点击恢复上课）'; }
        else if (extra.has(day)) { cls += '.extra'; title = `调休上课，按${WEEKDAYS[extra.get(day)]}课表（点击取消）`; }
        else if (wd >= 5) { cls += '.weekend'; title = '周末（点击设为调休上课日）'; }
        else { cls += '.school'; title = '服务日（点击设为停课日）'; }
        if (day < now) cls += '.past';
        if (day === now) cls += '.today';
        if (inTerm && (saved.off.has(day) !== off.has(day) || saved.extra.get(day) !== extra.get(day))) cls += '.changed';
        const label = extra.has(day) ? [String(d), h('small', WEEKDAYS[extra.get(day)].slice(1))] : String(d);
        cells.push(inTerm && day >= now
          ? h('button.' + cls, { type: 'button', title, dataset: { date: day }, onclick: () => toggle(day, wd) }, label)
          : h('span.' + cls, { title: day < now && inTerm ? '已过去的日子不能修改' : title }, label));
      }
      // A month wholly past is shown dimmed, and not at all on a phone.
      const done = iso(new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 0))) < now;
      months.push(h('div.month' + (done ? '.done' : ''), h('div.month-name', `${m.getUTCFullYear()}年${m.getUTCMonth() + 1}月`),
        h('div.week', ['一', '二', '三', '四', '五', '六', '日'].map((x) => h('span.wd', x))), h('div.days', cells)));
    }
    fill(monthsBox, months);
    const c = diff();
    const lines = [
      c.added.length ? h('li.bad', `新增停课日：${c.added.map(shortDay).join('、')}——当天的课程将取消，已报名的家庭会收到停课通知`) : null,
      c.removed.length ? h('li.good', `恢复上课：${c.removed.map(shortDay).join('、')}——因校历取消的课程将恢复，家庭会收到通知`) : null,
      c.extraAdded.length ? h('li.good', `调休上课：${c.extraAdded.map((d) => `${shortDay(d)}（按${WEEKDAYS[extra.get(d)]}课表）`).join('、')}`) : null,
      c.extraRemoved.length ? h('li.bad', `取消调休上课：${c.extraRemoved.map(shortDay).join('、')}——当天的课程将取消并通知家庭`) : null,
    ].filter(Boolean);
    const dirty = lines.length > 0;
    fill(changes, dirty ? h('div.alert.warn', h('strong', '尚未保存的修改'), h('ul', lines)) : null);
    saveBtn.disabled = !dirty;
    resetBtn.disabled = !dirty;
  }
  async function save() {
    const c = diff();
    if (c.added.length + c.extraRemoved.length > 0
      && !confirm('保存后，被取消的日子里的课程将停课，已报名的家庭会立即收到通知。确定保存？')) return;
    try {
      const next = await api.put(`/schools/${schoolID}/terms/${t.id}/calendar`, {
        no_service_days: [...off].sort(),
        extra_days: [...extra.entries()].sort().map(([date, as]) => ({ date, as_weekday: as })),
      });
      fill(err);
      toast('校历已保存');
      onSaved(next);
    } catch (e) {
      fill(err, errorBox(e));
    }
  }
  draw();
  return h('div.cal-editor',
    h('div.cal-legend',
      h('span.day.school', '服务日'), h('span.day.off', '停课日'), h('span.day.extra', '调休上课'), h('span.day.weekend', '周末'),
      h('span.muted.small', '点击服务日设为停课日；点击周末设为调休上课日，'), asWeekday),
    monthsBox, changes, err, h('div.form-actions', resetBtn, saveBtn));
}
