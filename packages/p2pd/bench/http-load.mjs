// A light HTTP/1.1 load generator for the REST benchmark, run in a worker thread so it does not
// share the server's event loop: CONCURRENCY keep-alive connections, one request in flight each,
// responses framed by Content-Length (what the REST API and the baseline send).
import * as net from "node:net";
import { parentPort, workerData } from "node:worker_threads";

const { port, path, requests, concurrency } = workerData;
const req = Buffer.from(
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`,
);

/** One keep-alive connection at a time (a new one when the server says `Connection: close`). */
function conn(share) {
  return new Promise((resolve, reject) => {
    let left = share;
    let bad = 0;
    const open = () => {
      let buf = Buffer.alloc(0);
      const s = net.connect(port, "127.0.0.1", () => s.write(req));
      s.setNoDelay(true);
      s.on("error", reject);
      s.on("data", (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buf.subarray(0, end).toString("latin1");
          const m = /content-length: *(\d+)/i.exec(head);
          const len = m ? Number(m[1]) : 0;
          if (buf.length < end + 4 + len) return;
          buf = buf.subarray(end + 4 + len);
          if (head.startsWith("HTTP/1.1 200")) left--;
          else if (!head.startsWith("HTTP/1.1 503")) {
            bad++;
            left--;
          }
          const closing = /\r\nconnection: *close/i.test(head);
          if (left <= 0 || closing) {
            s.destroy();
            if (left <= 0) resolve(bad);
            else open();
            return;
          }
          s.write(req);
        }
      });
    };
    open();
  });
}

const run = async (n) => {
  const share = Math.ceil(n / concurrency);
  const t0 = performance.now();
  const bad = (await Promise.all(Array.from({ length: concurrency }, () => conn(share)))).reduce(
    (x, y) => x + y,
    0,
  );
  return { rps: (share * concurrency) / ((performance.now() - t0) / 1000), bad };
};
await run(Math.min(requests, concurrency * 50)); // warm-up
parentPort.postMessage(await run(requests));
