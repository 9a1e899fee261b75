// Builds the console into one directory (argument 1, default ./dist): hashed, minified ES
// modules and CSS under assets/, and index.html pointing at them. Called by ../build.rs.
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const out = resolve(process.argv[2] ?? 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: ['src/main.tsx'],
  bundle: true,
  splitting: true, // the map and its data load only when the attackers page opens
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: false,
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

// The entry script and its stylesheet, by their hashed names.
let script, style;
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint === 'src/main.tsx') {
    script = basename(file);
    style = meta.cssBundle && basename(meta.cssBundle);
  }
}
if (!script || !style) throw new Error('esbuild produced no entry script or stylesheet');

// No inline script or style: the Content-Security-Policy allows only files from 'self'.
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>ferrodef</title>
<link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui/assets/${style}">
<script type="module" src="/ui/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The ferrodef console needs JavaScript.</noscript>
</body>
</html>
`,
);
writeFileSync(
  join(out, 'assets', 'favicon.svg'),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f6feb"/><path d="M9 8h14v4H14v3h7v4h-7v5H9z" fill="#fff"/></svg>\n`,
);
