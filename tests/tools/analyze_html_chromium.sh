#!/usr/bin/env bash
# `vigil analyze X --html out.html` opened in headless Chromium: the
# time-sequence graph must really render. Checks, per report:
#  - the page is self-contained (one inline script, no external URL);
#  - in the browser's live DOM (--dump-dom of a copy with a measuring script
#    appended), the SVG has as many retransmission / zero-window-probe marks
#    as `vigil analyze --json` labels packets, the plot area and the marks'
#    bounding box have a real size, and a retransmission mark is painted in
#    the legend's red;
#  - zoom works when driven in the page (issue 13 point 11): a wheel event
#    over the plot narrows the visible time range (data-view-x0/x1) about
#    the pointer and relabels the axis, a drag pans it, a double-click
#    restores the whole flow;
#  - a screenshot of the report itself is not blank: the plot area has ink,
#    and pixels of the retransmission red / probe blue.
# Usage: analyze_html_chromium.sh path/to/vigil
set -euo pipefail
vigil=$1
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "SKIP: chromium is not installed (scripts/setup.sh installs it); HTML report not rendered"
  exit 77  # ctest: skipped (SKIP_RETURN_CODE)
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

browse() {  # mode (dom|png) page.html out -> runs headless chromium once
  local ud; ud=$(mktemp -d "$dir/profile.XXXXXX")
  local args=(--headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
              --user-data-dir="$ud" --window-size=1200,1100 --force-device-scale-factor=1)
  if [ "$1" = dom ]; then
    timeout 60 "$chromium" "${args[@]}" --virtual-time-budget=3000 --dump-dom "file://$2" \
      > "$3" 2> "$ud.log" || true
  else
    timeout 60 "$chromium" "${args[@]}" --screenshot="$3" "file://$2" > "$ud.log" 2>&1 || true
  fi
  rm -rf "$ud"
}

# The measuring copy: appends a script that writes what the browser laid out
# into <pre id="vigil-measure"> (the report itself carries no script).
cat > "$dir/measure.js" <<'EOF'
(function () {
  var out = [];
  document.querySelectorAll('svg.tsg:not(.zoom):not(.xg)').forEach(function (svg) {
    var area = svg.querySelector('rect.plotarea').getBoundingClientRect();
    var bb = svg.querySelector('g.marks').getBBox();
    var n = function (sel) { return svg.querySelectorAll('g.marks ' + sel).length; };
    var rx = svg.querySelector('g.marks path.retx.rto');
    out.push({x: area.x, y: area.y + window.scrollY, w: area.width, h: area.height,
              bbw: bb.width, bbh: bb.height, retx: n('path.retx'), seg: n('path.seg'),
              zwp: n('path.zwp'), titles: n('title'),
              retx_stroke: rx ? getComputedStyle(rx).stroke : ''});
  });
  // Drive the first graph as a user would: wheel, drag, double-click.
  var svg = document.querySelector('svg.tsg:not(.zoom):not(.xg)');
  if (svg && out.length) {
    var area = svg.querySelector('rect.plotarea').getBoundingClientRect();
    var cx = area.x + area.width / 2, cy = area.y + area.height / 2;
    var view = function () { return [+svg.dataset.viewX0, +svg.dataset.viewX1]; };
    var tick = function () { var t = svg.querySelector('g.axes text.xt'); return t ? t.textContent : ''; };
    var z = {full: view(), tick0: tick()};
    svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -800, clientX: cx, clientY: cy, bubbles: true, cancelable: true}));
    z.zoomed = view(); z.tick1 = tick();
    svg.dispatchEvent(new MouseEvent('mousedown', {button: 0, clientX: cx, clientY: cy, bubbles: true}));
    window.dispatchEvent(new MouseEvent('mousemove', {clientX: cx + 200, clientY: cy, bubbles: true}));
    window.dispatchEvent(new MouseEvent('mouseup', {clientX: cx + 200, clientY: cy, bubbles: true}));
    z.panned = view();
    svg.dispatchEvent(new MouseEvent('dblclick', {clientX: cx, clientY: cy, bubbles: true}));
    z.reset = view();
    out[0].zoom = z;
  }
  var pre = document.createElement('pre');
  pre.id = 'vigil-measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
EOF
measure() {  # report.html -> measure.json (the browser's numbers)
  python3 - "$1" "$dir/measure.js" "$1.measure.html" <<'EOF'
import sys
page = open(sys.argv[1], encoding='utf-8').read()
js = open(sys.argv[2]).read()
open(sys.argv[3], 'w', encoding='utf-8').write(page.replace('</body>', '<script>' + js + '</script>\n</body>'))
EOF
  browse dom "$1.measure.html" "$1.dom"
  python3 - "$1.dom" > "$1.measure.json" <<'EOF'
import html, re, sys
m = re.search(r'<pre id="vigil-measure">(.*?)</pre>', open(sys.argv[1], encoding='utf-8').read(), re.S)
print(html.unescape(m.group(1)) if m else '[]')
EOF
}
jq_py() {  # json-file python-expression-over-r -> value
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# Pixels of the screenshot inside the first plot area: "ink colour-hits".
pixels() {  # png measure.json r,g,b
  python3 - "$1" "$2" "$3" <<'EOF'
import json, struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n'
m = json.load(open(sys.argv[2]))[0]
want = [int(v) for v in sys.argv[3].split(',')]
pos, idat = 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
y0, y1 = int(m['y']) + 2, min(h, int(m['y'] + m['h']) - 2)
x0, x1 = int(m['x']) + 2, min(w, int(m['x'] + m['w']) - 2)
prev = bytearray(stride)
ink = hits = 0
for y in range(y1):  # undo the PNG row filters (RFC 2083 section 6), rows above the plot too
    i = y * (stride + 1)
    f = raw[i]
    line = bytearray(raw[i + 1:i + 1 + stride])
    if f == 1:
        for x in range(bpp, stride):
            line[x] = (line[x] + line[x - bpp]) & 255
    elif f == 2:
        line = bytearray((u + v) & 255 for u, v in zip(line, prev))
    elif f == 3:
        for x in range(stride):
            line[x] = (line[x] + ((line[x - bpp] if x >= bpp else 0) + prev[x]) // 2) & 255
    elif f == 4:
        for x in range(bpp):
            line[x] = (line[x] + prev[x]) & 255
        for x in range(bpp, stride):
            a = line[x - bpp]; b = prev[x]; c = prev[x - bpp]
            pa = b - c if b > c else c - b
            pb = a - c if a > c else c - a
            pc = a + b - c - c
            if pc < 0: pc = -pc
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y >= y0:
        for x in range(x0, x1):
            r, g, b = line[x * bpp], line[x * bpp + 1], line[x * bpp + 2]
            if r < 200 or g < 200 or b < 200: ink += 1
            if abs(r - want[0]) < 40 and abs(g - want[1]) < 40 and abs(b - want[2]) < 40: hits += 1
print(ink, hits)
EOF
}

"$vigil" sim bulk-lossy --seed 7 --pcap "$dir/bl.pcap" > /dev/null
"$vigil" sim zero-window-persist --profile linux --pcap "$dir/zw.pcap" > /dev/null

# 1. bulk-lossy: retransmissions.
"$vigil" analyze "$dir/bl.pcap" --json --html "$dir/bl.html" > "$dir/bl.json"
want_retx=$(jq_py "$dir/bl.json" 'sum(1 for p in r["packets"] if p["dir"]==0 and set(p["labels"]) & {"retransmission","fast_retransmission","tail_loss_probe","spurious_retransmission"})')
check "bulk-lossy report written" '[ -s "$dir/bl.html" ]'
check "one inline script, no external URL" '[ "$(grep -c "<script" "$dir/bl.html")" -eq 1 ] && ! grep -Eq "src=|href=\"(https?:)?//|url\((https?:)?//|@import|XMLHttpRequest|fetch\(" "$dir/bl.html"'
measure "$dir/bl.html"
m=$dir/bl.html.measure.json
svgs=$(jq_py "$m" 'len(r)')
got_retx=$(jq_py "$m" 'r[0]["retx"] if r else -1')
echo "bulk-lossy: $want_retx retransmissions labelled; browser DOM: $svgs graph(s), $got_retx retransmission marks, plot $(jq_py "$m" 'r and "%dx%d" % (r[0]["w"], r[0]["h"])'), marks bbox $(jq_py "$m" 'r and "%dx%d" % (r[0]["bbw"], r[0]["bbh"])'), timeout-retransmission stroke $(jq_py "$m" 'r and r[0]["retx_stroke"]')"
check "one graph (only the client sends data)" '[ "$svgs" -eq 1 ]'
check "every retransmission is a mark in the live DOM" '[ "$want_retx" -gt 100 ] && [ "$got_retx" -eq "$want_retx" ]'
check "every mark has a tooltip" '[ "$(jq_py "$m" "r[0][\"titles\"] >= r[0][\"seg\"] + r[0][\"retx\"]")" = True ]'
check "plot area laid out (> 800x300 px)" '[ "$(jq_py "$m" "r[0][\"w\"] > 800 and r[0][\"h\"] > 300")" = True ]'
check "marks span the plot (bbox > 80% of it)" '[ "$(jq_py "$m" "r[0][\"bbw\"] > 0.8 * r[0][\"w\"] and r[0][\"bbh\"] > 0.8 * r[0][\"h\"]")" = True ]'
check "retransmissions painted red (#e31a1c)" '[ "$(jq_py "$m" "r[0][\"retx_stroke\"]")" = "rgb(227, 26, 28)" ]'
# Zoom, driven in the page. The wheel's deltaY -800 zooms by exp(800/400) =
# 7.39 about the plot's centre: the range shrinks to 1/7.39 of the full one,
# centred where it was. A 200 px drag right shows earlier times: x0 falls.
echo "zoom: $(jq_py "$m" 'r[0].get("zoom")')"
check "wheel zooms in about the pointer (range / 7.39)" '[ "$(jq_py "$m" "(lambda z: abs((z[\"zoomed\"][1]-z[\"zoomed\"][0]) * 7.389 / (z[\"full\"][1]-z[\"full\"][0]) - 1) < 0.01 and abs((z[\"zoomed\"][0]+z[\"zoomed\"][1]) - (z[\"full\"][0]+z[\"full\"][1])) < 0.01 * (z[\"full\"][1]-z[\"full\"][0]))(r[0][\"zoom\"])")" = True ]'
check "the time axis is relabelled" '[ "$(jq_py "$m" "r[0][\"zoom\"][\"tick0\"] != r[0][\"zoom\"][\"tick1\"]")" = True ]'
check "a drag to the right pans to earlier times" '[ "$(jq_py "$m" "r[0][\"zoom\"][\"panned\"][0] < r[0][\"zoom\"][\"zoomed\"][0]")" = True ]'
check "double-click shows the whole flow again" '[ "$(jq_py "$m" "all(abs(a-b) < 1e-9 for a, b in zip(r[0][\"zoom\"][\"reset\"], r[0][\"zoom\"][\"full\"]))")" = True ]'
browse png "$dir/bl.html" "$dir/bl.png"
read -r ink red < <(pixels "$dir/bl.png" "$m" 227,26,28)
echo "bulk-lossy screenshot: $ink ink pixels, $red retransmission-red pixels in the plot area"
check "screenshot plot area not blank" '[ "$ink" -gt 3000 ]'
check "retransmission red visible in the screenshot" '[ "$red" -gt 200 ]'

# 2. zero-window-persist (linux): zero-window probes.
"$vigil" analyze "$dir/zw.pcap" --json --html "$dir/zw.html" > "$dir/zw.json"
want_zwp=$(jq_py "$dir/zw.json" 'sum(1 for p in r["packets"] if p["dir"]==0 and "zero_window_probe" in p["labels"])')
measure "$dir/zw.html"
m=$dir/zw.html.measure.json
got_zwp=$(jq_py "$m" 'r[0]["zwp"] if r else -1')
echo "zero-window: $want_zwp probes labelled; browser DOM: $got_zwp probe marks"
check "every zero-window probe is a mark" '[ "$want_zwp" -gt 30 ] && [ "$got_zwp" -eq "$want_zwp" ]'
browse png "$dir/zw.html" "$dir/zw.png"
read -r ink blue < <(pixels "$dir/zw.png" "$m" 31,120,180)
echo "zero-window screenshot: $ink ink pixels, $blue probe-blue pixels in the plot area"
check "probe blue visible in the screenshot" '[ "$blue" -gt 100 ]'

if [ -n "${VIGIL_KEEP_HTML:-}" ]; then cp "$dir"/*.html "$dir"/*.png "$VIGIL_KEEP_HTML"/; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
