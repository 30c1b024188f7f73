#!/usr/bin/env python3
# check-svg-labels.py FILE.svg...: no two texts of vfiomapctl's --svg picture overlap, and no red conflict
# label lies on the conflict hatching. Boxes are estimated from the font size and the number of characters
# (DejaVu Sans averages under 0.6 em a character, 0.66 bold; DejaVu Sans Mono 0.602 em), generously, so a
# pass means clear of each other when rendered. Exit 1 and one line per overlap when any overlaps.
import re, sys
import xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
def boxes(path):
    t = ET.parse(path).getroot()
    out = []
    for e in t.iter(ns + 'text'):
        s = ''.join(e.itertext())
        cls = e.get('class', '')
        style = e.get('style', '') or ''
        fs = 12.0
        if 'small' in cls: fs = 10.0
        if 'title' in cls: fs = 17.0
        m = re.search(r'font-size:(\d+)px', style)
        if m: fs = float(m.group(1))
        bold = 'bold' in style or 'title' in cls or 'head' in cls or 'band' in cls
        adv = 0.61 if 'mono' in cls else (0.66 if bold else 0.6)
        w = len(s) * fs * adv
        x = float(e.get('x')); y = float(e.get('y'))
        anchor = e.get('text-anchor', 'start')
        if anchor == 'end': x0 = x - w
        elif anchor == 'middle': x0 = x - w / 2
        else: x0 = x
        out.append((x0, y - 0.78 * fs, x0 + w, y + 0.22 * fs, s))
    return out
def hatches(path):
    t = ET.parse(path).getroot()
    return [(float(r.get('x')), float(r.get('y')), float(r.get('x')) + float(r.get('width')),
             float(r.get('y')) + float(r.get('height')))
            for r in t.iter(ns + 'rect') if r.get('fill') == 'url(#conflict)' and r.get('x') == '170.0']

bad = 0
for p in sys.argv[1:]:
    b = boxes(p)
    for a in b:
        if not a[4].startswith('conflict:'):
            continue
        for h in hatches(p):
            if a[0] < h[2] and h[0] < a[2] and a[1] < h[3] and h[1] < a[3]:
                bad += 1
                print('%s: "%s" lies on the hatching at y=%.1f' % (p, a[4], h[1]))
    for i in range(len(b)):
        for j in range(i + 1, len(b)):
            a, c = b[i], b[j]
            if a[0] < c[2] and c[0] < a[2] and a[1] < c[3] and c[1] < a[3]:
                bad += 1
                if bad <= 10: print('%s: "%s" overlaps "%s"' % (p, a[4], c[4]))
print(bad, 'overlaps')
sys.exit(1 if bad else 0)
