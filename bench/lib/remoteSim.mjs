// The simulator in its own process (so its work does not share the client's event loop and
// skew the drain figures), driven over its HTTP control port with the same method names as
// `sim.control`, all async.
import { spawn } from 'node:child_process';
import { compileNode } from './compile.mjs';

export async function startRemoteSimulator() {
  const bundle = await compileNode();
  const child = spawn(
    process.execPath,
    [
      // BENCH_PROF=dir: a CPU profile of the simulator too (written when it exits)
      ...(process.env.BENCH_PROF
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${process.env.BENCH_PROF}`,
            '--cpu-prof-name=simulator.cpuprofile',
          ]
        : []),
      '--input-type=module',
      '-e',
      `const { startSimulator } = await import(${JSON.stringify(bundle)});
       const sim = await startSimulator({ port: 0 });
       console.log(JSON.stringify({ url: sim.url, wsUrl: sim.wsUrl, controlUrl: sim.controlUrl }));
       process.stdin.on('end', () => sim.close().then(() => process.exit(0)));
       process.stdin.resume();`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const info = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  const post = async (name, body = {}) => {
    const res = await fetch(`${info.controlUrl}/__control/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`control ${name}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const get = async (name) => (await fetch(`${info.controlUrl}/__control/${name}`)).json();
  return {
    ...info,
    pid: child.pid,
    control: {
      reset: () => post('reset'),
      latency: (ms) => post('latency', { ms }),
      delayFrames: (ms) => post('delayFrames', { ms }),
      outage: (mode) => post('outage', { mode }),
      delivered: () => get('delivered'),
      state: () => get('state'),
    },
    close: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}
