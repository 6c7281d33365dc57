// Copies the distributed builds of the front-end libraries from node_modules into static/vendor/.
// Nothing third-party is committed: static/vendor/ is git-ignored and rebuilt by `npm run build`.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "static", "vendor");

const files = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["echarts/dist/echarts.min.js", "echarts.min.js"],
  ["hls.js/dist/hls.min.js", "hls.min.js"],
  // QR decoding for the pickup counter (核销): ZXing C++ compiled to WebAssembly, its reader only. The script
  // (the global ZXingWASM) is told where the .wasm is (static/js/pickup_scan.js), never a CDN.
  ["zxing-wasm/dist/iife/reader/index.js", "zxing-wasm-reader.js"],
  ["zxing-wasm/dist/reader/zxing_reader.wasm", "zxing_reader.wasm"],
];

function copy(from, name) {
  copyFileSync(from, join(target, name));
  console.log(`static/vendor/${name} <- ${from.slice(root.length + 1)}`);
}

mkdirSync(target, { recursive: true });
for (const [source, name] of files) {
  const from = join(root, "node_modules", source);
  if (!existsSync(from)) {
    console.error(`missing ${from}: run "npm ci" first`);
    process.exit(1);
  }
  copy(from, name);
  // A file that names its source map needs it beside it: collectstatic's manifest storage
  // (production) refuses a reference it cannot resolve.
  const map = name.endsWith(".js") && readFileSync(from, "utf8").match(/[#@] sourceMappingURL=([\w.-]+\.map)\s*$/m);
  if (map) {
    const mapFrom = join(dirname(from), map[1]);
    if (!existsSync(mapFrom)) {
      console.error(`${source} names ${map[1]}, which is not in the package`);
      process.exit(1);
    }
    copy(mapFrom, map[1]);
  }
}
