// BullMQ's side of the benchmark: the same client and worker modes as bench/client.py and
// bench/worker.py, speaking the same line protocol (see bench/protocol.py): print "@bench \"ready\"",
// wait for "go" on stdin, then print one JSON line per result.
//
//   node bullmq_bench.mjs client URL QUEUE MODE N [CHUNK|GAP_MS]
//     MODE: enqueue-single | enqueue-bulk | fill | produce
//   node bullmq_bench.mjs worker URL QUEUE MODE N CONCURRENCY
//     MODE: drain (one line {t0, t1} after N jobs) | latency (one line {lat} per job)
//           | share (one line {t0, t1, done} per "report" line on stdin)
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { Queue, Worker } from "bullmq";

const [role, url, name, mode, nArg, extraArg] = process.argv.slice(2);
const n = Number(nArg);
const extra = Number(extraArg ?? 0);
const u = new URL(url);
const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
// Keep the last 1000 finished jobs, as corral's default retention does.
const jobOptions = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 10000 } };

const now = () => (performance.timeOrigin + performance.now()) / 1000;
const say = (obj) => process.stdout.write("@bench " + JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One reader for the whole run: "go" starts the phase; "report" (share mode) asks for
// the counts so far.
let onReport = () => {};
async function go() {
  say("ready");
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve) => {
    lines.on("line", (line) => {
      if (line.trim() === "go") resolve();
      else if (line.trim() === "report") onReport();
    });
  });
}

async function client() {
  const queue = new Queue(name, { connection, defaultJobOptions: jobOptions });
  await queue.waitUntilReady();
  await go();
  const start = now();
  if (mode === "enqueue-single") {
    for (let i = 0; i < n; i++) await queue.add("noop", { i });
  } else if (mode === "enqueue-bulk" || mode === "fill") {
    const chunk = extra || 1000;
    for (let i = 0; i < n; i += chunk) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + chunk); j++) batch.push({ name: "noop", data: { i: j } });
      await queue.addBulk(batch);
    }
  } else if (mode === "produce") {
    for (let i = 0; i < n; i++) {
      await queue.add("noop", { ts: now() });
      await sleep(extra);
    }
  } else {
    throw new Error(`unknown client mode ${mode}`);
  }
  say({ seconds: now() - start });
  await queue.close();
}

async function worker() {
  let done = 0;
  let t0 = 0;
  let t1 = 0;
  const handlers = {
    drain: async () => {
      if (done === 0 && t0 === 0) t0 = now();
      done += 1;
      if (done === n) say({ t0, t1: now() });
    },
    // One of several workers on one queue: counts its share, told on "report".
    share: async () => {
      t1 = now();
      if (done === 0) t0 = t1;
      done += 1;
    },
    latency: async (job) => {
      say({ lat: now() - job.data.ts });
    },
  };
  const handler = handlers[mode];
  if (!handler) throw new Error(`unknown worker mode ${mode}`);
  onReport = () => say({ t0, t1, done });
  const w = new Worker(name, handler, { connection, concurrency: extra || 8, autorun: false });
  await w.waitUntilReady();
  await go();
  await w.run();
}

if (role === "client") await client();
else if (role === "worker") await worker();
else throw new Error(`unknown role ${role}`);
process.exit(0);
