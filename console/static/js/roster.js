// roster.js: roster import by drag and drop. The file goes to the API as
// it is (CSV as text/csv, XLSX as multipart); the page also reads it
// locally, only to show each row the API refuses beside its cells.
import * as api from './api.js';
import { h, fill, card, errorBox, toast } from './ui.js';

const COLUMNS = ['student_no', 'name', 'gender', 'grade', 'class', 'guardian_name', 'guardian_phone', 'relationship'];
// WAIVER_COLUMNS are the roster's optional fee waiver columns.
const WAIVER_COLUMNS = ['fee_waiver', 'waiver_reason'];
const LABELS = {
  student_no: '学号', name: '姓名', gender: '性别', grade: '年级', class: '班级',
  guardian_name: '家长姓名', guardian_phone: '家长电话', relationship: '关系',
  fee_waiver: '减免', waiver_reason: '减免原因',
  father_name: '父亲姓名', father_phone: '父亲电话', mother_name: '母亲姓名', mother_phone: '母亲电话', header: '表头',
};

// DELIMITERS are the separators the API accepts in a CSV.
const DELIMITERS = [',', '\t', ';', '，', '|'];

/** parseCSV reads CSV text into rows of cells split by delim, one row per
 * row of the sheet: blank lines are kept (the API counts them) and a
 * quoted cell may span lines, so rows[line - 1] is the API's line. */
export function parseCSV(text, delim = ',') {
  text = text.replace(/^\uFEFF/, '');
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (text.startsWith(delim, i)) { row.push(cell); cell = ''; i += delim.length - 1; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** csvRows reads CSV text with the delimiter that splits the line
 * headerLine (from 1) into the most cells. */
export function csvRows(text, headerLine) {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const head = lines[Math.max(0, (headerLine || 1) - 1)] || '';
  let best = ',', most = 0;
  for (const d of DELIMITERS) {
    const n = head.split(d).length;
    if (n > most) { best = d; most = n; }
  }
  return parseCSV(text, best);
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
    const line = Number(r.getAttribute('r')) || rows.length + 1;
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
    rows[line - 1] = Array.from(row, (x) => x ?? '');
  }
  return Array.from(rows, (r) => r ?? []); // rows[line - 1] is the sheet's row line
}

// readFile reads the file's rows locally, to show the cells of the rows
// the API refused; headerLine (from the API's errors) picks the CSV's
// delimiter.
async function readFile(file, headerLine) {
  const buf = await file.arrayBuffer();
  const isX = /\.xlsx$/i.test(file.name);
  if (isX) return { rows: await parseXLSX(buf), xlsx: true };
  let text = new TextDecoder('utf-8', { fatal: false }).decode(buf);
  if (text.includes('\uFFFD')) text = new TextDecoder('gbk').decode(buf); // Excel's CSV in China
  return { rows: csvRows(text, headerLine), xlsx: false };
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
      h('p.muted.small', '表头（上方可有标题行）列为：', COLUMNS.map((c) => `${LABELS[c]}（${c}）`).join('、'),
        '。同一学生有两位家长时写两行、学号相同，或写在同一行的「父亲电话」「母亲电话」两列（可加「父亲姓名」「母亲姓名」）。',
        '全部行有效才会写入，任何一行有误都不写入。'),
      h('p.muted.small', '可选列：', WAIVER_COLUMNS.map((c) => `${LABELS[c]}（${c}）`).join('、'),
        '。减免填 无、减半 或 全免（也可写 none、half、full），有减免时须写原因：建档立卡、低保、残疾 或 其他；',
        '留空的单元格不改变学生现有的减免，要取消减免请写「无」。减免只用于此后生成的订单。')),
    result);

  async function upload(file) {
    fill(result, card(`正在导入 ${file.name}…`, h('div.loading', '上传中…')));
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
      const waivers = res.waivers ? `其中 ${res.waivers} 名学生的减免已按名单设置。` : '';
      fill(result, card('导入成功', h('div.alert.ok', h('strong', `${file.name}：新增 ${res.created} 名，更新 ${res.updated} 名学生。${waivers}`)),
        h('a.btn.ghost', { href: '#/students' }, '查看学生名单')));
    } catch (e) {
      if (e.errors && e.errors.length) {
        let local = null;
        try { local = await readFile(file, headerLine(e.errors)); } catch (_) { local = null; }
        fill(result, badRows(file.name, e, local));
      } else fill(result, card('导入失败', errorBox(e)));
    }
  }
}

// headerLine is the line of the file's header, as the API's errors give
// it (a data row's line less its row), or 0.
function headerLine(errors) {
  const e = errors.find((x) => x.line > 0 && x.row > 0);
  return e ? e.line - e.row : (errors.find((x) => x.line > 0) || {}).line || 0;
}

// colIndex is the column (from 0) of a cell reference such as "G5", or -1.
function colIndex(ref) {
  const m = /^([A-Z]+)\d/.exec(ref || '');
  return m ? [...m[1]].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1 : -1;
}

// where names an error's cell as the file does: its header (家长联系电话)
// and reference (G5), else the field's label.
function where(e) {
  const name = e.column || LABELS[e.field] || e.field;
  return e.cell ? `${name}（${e.cell}）` : name;
}

// badRows lists each refused row by the API's own line (as the
// spreadsheet numbers it, title rows included), the API's messages
// first so they are never scrolled off, then the row's cells as the file
// holds them, the refused cells (the API's cell references) marked.
function badRows(name, err, local) {
  const hl = headerLine(err.errors);
  const header = local && hl && local.rows[hl - 1] ? local.rows[hl - 1].map((x) => String(x).trim()) : [];
  const byLine = new Map();
  for (const e of err.errors) {
    const k = e.line || e.row;
    if (!byLine.has(k)) byLine.set(k, []);
    byLine.get(k).push(e);
  }
  const lines = [...byLine.keys()].sort((a, b) => a - b);
  const width = Math.max(header.length, ...lines.map((l) => (local && local.rows[l - 1] ? local.rows[l - 1].length : 0)));
  const cols = [...Array(width).keys()];
  return card(`${name}：${lines.length} 行有误，未写入任何记录`,
    h('div.alert.error', h('strong', err.message)),
    h('p.muted.small', '行号与 Excel 中看到的一致（含标题行和表头）；标红的是有误的单元格。'),
    h('div.table-scroll', h('table.data.bad-rows', { id: 'bad-rows' },
      h('thead', h('tr', h('th.num', '行'), h('th.msg', '问题'), cols.map((i) => h('th', header[i] || '')))),
      h('tbody', lines.map((l) => {
        const errs = byLine.get(l);
        const cells = local && local.rows[l - 1] ? local.rows[l - 1] : [];
        const bad = new Set(errs.map((e) => colIndex(e.cell)));
        return h('tr', { dataset: { line: l } }, h('td.num', `第${l}行`),
          h('td.msg', errs.map((e) => h('div', h('strong', where(e)), '：', e.message))),
          cols.map((i) => h('td' + (bad.has(i) ? '.bad' : ''), String(cells[i] ?? ''))));
      })))));
}
