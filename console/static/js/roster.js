// roster.js: roster import by drag and drop. The file goes to the API as
// it is (CSV as text/csv, XLSX as multipart); the page also reads it
// locally, only to show each row the API refuses beside its cells.
import * as api from './api.js';
import { h, fill, card, errorBox, toast } from './ui.js';

const COLUMNS = ['student_no', 'name', 'gender', 'grade', 'class', 'guardian_name', 'guardian_phone', 'relationship'];
const LABELS = {
  student_no: '学号', name: '姓名', gender: '性别', grade: '年级', class: '班级',
  guardian_name: '家长姓名', guardian_phone: '家长电话', relationship: '关系',
};

/** parseCSV reads RFC 4180 CSV text into rows of cells. */
export function parseCSV(text) {
  text = text.replace(/^\uFEFF/, '');
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows.filter((r) => r.some((x) => x.trim() !== ''));
}

// unzip reads the entries of a zip (stored or deflated) into a Map of name
// → bytes, with the browser's own DecompressionStream.
async function unzip(buf, want) {
  const dv = new DataView(buf);
  let eocd = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 65557); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('不是有效的 XLSX 文件');
  const n = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const out = new Map();
  const dec = new TextDecoder();
  for (let k = 0; k < n; k++) {
    const method = dv.getUint16(p + 10, true);
    const csize = dv.getUint32(p + 20, true);
    const nlen = dv.getUint16(p + 28, true), xlen = dv.getUint16(p + 30, true), clen = dv.getUint16(p + 32, true);
    const local = dv.getUint32(p + 42, true);
    const name = dec.decode(new Uint8Array(buf, p + 46, nlen));
    p += 46 + nlen + xlen + clen;
    if (!want(name)) continue;
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    const data = new Uint8Array(buf, start, csize);
    if (method === 0) out.set(name, data);
    else {
      const s = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
      out.set(name, new Uint8Array(await new Response(s).arrayBuffer()));
    }
  }
  return out;
}

/** parseXLSX reads the first sheet of an .xlsx into rows of cells. */
export async function parseXLSX(buf) {
  const files = await unzip(buf, (n) => n === 'xl/sharedStrings.xml' || /^xl\/worksheets\/sheet1\.xml$/.test(n) || n === 'xl/workbook.xml');
  const dec = new TextDecoder();
  const xml = (n) => (files.has(n) ? new DOMParser().parseFromString(dec.decode(files.get(n)), 'application/xml') : null);
  const shared = [];
  const ss = xml('xl/sharedStrings.xml');
  if (ss) for (const si of ss.getElementsByTagName('si')) shared.push([...si.getElementsByTagName('t')].map((t) => t.textContent).join(''));
  const sheet = xml('xl/worksheets/sheet1.xml');
  if (!sheet) throw new Error('XLSX 中没有工作表');
  const rows = [];
  for (const r of sheet.getElementsByTagName('row')) {
    const row = [];
    let next = 0;
    for (const c of r.getElementsByTagName('c')) {
      const ref = c.getAttribute('r') || '';
      let col = next;
      const m = /^([A-Z]+)/.exec(ref);
      if (m) col = [...m[1]].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
      if (col > 64) continue; // stray cells far right: not part of the roster
      const t = c.getAttribute('t');
      const v = c.getElementsByTagName('v')[0];
      let val = '';
      if (t === 's') val = shared[Number(v && v.textContent)] ?? '';
      else if (t === 'inlineStr') val = [...c.getElementsByTagName('t')].map((x) => x.textContent).join('');
      else val = v ? v.textContent : '';
      row[col] = val;
      next = col + 1;
    }
    rows.push(Array.from(row, (x) => x ?? ''));
  }
  return rows.filter((r) => r.some((x) => String(x).trim() !== ''));
}

async function readFile(file) {
  const buf = await file.arrayBuffer();
  const isX = /\.xlsx$/i.test(file.name);
  if (isX) return { rows: await parseXLSX(buf), xlsx: true };
  let text = new TextDecoder('utf-8', { fatal: false }).decode(buf);
  if (text.includes('\uFFFD')) text = new TextDecoder('gbk').decode(buf); // Excel's CSV in China
  return { rows: parseCSV(text), xlsx: false };
}

/** importRoster: the drop zone, the upload, and the rows the API refused. */
export function importRoster(el, ctx) {
  const sid = ctx.me.school_id;
  const input = h('input', { type: 'file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', hidden: true });
  const result = h('div.import-result');
  const zone = h('div.drop', { tabIndex: 0, role: 'button', onclick: () => input.click(), onkeydown: (e) => { if (e.key === 'Enter') input.click(); } },
    h('div.drop-icon', '⇪'), h('div.drop-title', '把 Excel（.xlsx）或 CSV 名单拖到这里'), h('div.muted', '或点击选择文件'));
  for (const ev of ['dragenter', 'dragover']) zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
  for (const ev of ['dragleave', 'drop']) zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.remove('over'); });
  zone.addEventListener('drop', (e) => { if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]); });
  input.addEventListener('change', () => { if (input.files[0]) upload(input.files[0]); input.value = ''; });
  fill(el, h('div.page-head', h('h1', '名单导入')),
    card('上传名单', zone, input,
      h('p.muted.small', '第一行为表头，列为：', COLUMNS.map((c) => `${c}（${LABELS[c]}）`).join('、'),
        '。同一学生有两位家长时写两行、学号相同。全部行有效才会写入，任何一行有误都不写入。')),
    result);

  async function upload(file) {
    fill(result, card(`正在导入 ${file.name}…`, h('div.loading', '上传中…')));
    let local = null;
    try { local = await readFile(file); } catch (e) { local = null; }
    try {
      let res;
      if (/\.xlsx$/i.test(file.name)) {
        const fd = new FormData();
        fd.append('file', file, file.name);
        res = await api.request('POST', `/schools/${sid}/roster`, { raw: fd });
      } else {
        res = await api.request('POST', `/schools/${sid}/roster`, { raw: file, type: 'text/csv' });
      }
      toast('导入成功');
      fill(result, card('导入成功', h('div.alert.ok', h('strong', `${file.name}：新增 ${res.created} 名，更新 ${res.updated} 名学生。`)),
        h('a.btn.ghost', { href: '#/students' }, '查看学生名单')));
    } catch (e) {
      if (e.errors && e.errors.length) fill(result, badRows(file.name, e, local));
      else fill(result, card('导入失败', errorBox(e)));
    }
  }
}

// badRows lays each refused row beside its cells (data rows count from 1,
// after the header), the refused cell marked, the API's message beside it.
function badRows(name, err, local) {
  const header = local && local.rows.length ? local.rows[0].map((x) => String(x).trim()) : COLUMNS;
  const byRow = new Map();
  for (const e of err.errors) {
    if (!byRow.has(e.row)) byRow.set(e.row, []);
    byRow.get(e.row).push(e);
  }
  const rows = [...byRow.keys()].sort((a, b) => a - b);
  const colOf = (field) => header.indexOf(field);
  return card(`${name}：${rows.length} 行有误，未写入任何记录`,
    h('div.alert.error', h('strong', err.message)),
    h('div.table-scroll', h('table.data.bad-rows', { id: 'bad-rows' },
      h('thead', h('tr', h('th', '行'), header.map((c) => h('th', LABELS[c] || c)), h('th', '问题'))),
      h('tbody', rows.map((r) => {
        const errs = byRow.get(r);
        const cells = local && local.rows[r] ? local.rows[r] : [];
        const bad = new Set(errs.map((e) => colOf(e.field)));
        return h('tr', { dataset: { row: r } }, h('td.num', String(r)),
          header.map((_, i) => h('td' + (bad.has(i) ? '.bad' : ''), String(cells[i] ?? ''))),
          h('td.msg', errs.map((e) => h('div', `${LABELS[e.field] || e.field}：${e.message}`))));
      })))));
}
