import { Pool } from 'undici';
import { readFileSync } from 'node:fs';
const [pid, url, n] = [process.argv[2], process.argv[3], +(process.argv[4] ?? 4000)];
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) * 10; };
const pool = new Pool(url, { connections: 1 });
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I reset my password?' }] });
const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-local-dev' };
async function run(k) { for (let i = 0; i < k; i++) { const r = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body }); await r.body.arrayBuffer(); if (r.statusCode !== 200) throw new Error('status ' + r.statusCode); } }
await run(3000);
const out = [];
for (let w = 0; w < 3; w++) { const c0 = cpu(); const t0 = performance.now(); await run(n); out.push(`${((cpu() - c0) / n).toFixed(4)}ms/req ${(n / ((performance.now() - t0) / 1000)).toFixed(0)}rps`); }
console.log(out.join('  '));
await pool.close();
