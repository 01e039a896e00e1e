#!/usr/bin/env python3
"""Writes python-oracle-cases.json: 60 random transcripts rendered by openai-whisper's own
writers (whisper/utils.py at commit c0d2f62, saved beside this script as wutils.py).
Dev-time only; the Swift tests read the JSON it wrote."""

import io, json, random
import wutils as u
random.seed(11)
pool = list("ab xyz-->\t\n\r") + ["\x1c", "\xa0", "\u3000", "\u0301", "😀", "日", "\"", "\\", "\x01", "\x7f", "\u2028", "é", "  ", "-->", ">", "-"]
def txt(n): return "".join(random.choice(pool) for _ in range(random.randint(0, n)))
def num():
    r = random.random()
    if r < 0.2: return round(random.uniform(0, 7300), 3)
    if r < 0.3: return random.randint(0, 8000) + random.choice([0.0005, 0.0015, 0.9995, 0.5])
    if r < 0.4: return float(random.randint(0, 400000))
    if r < 0.5: return random.uniform(0, 1e-3)
    return random.uniform(0, 400000)
cases = []
for k in range(60):
    segs = []
    withw = random.random() < 0.5
    for i in range(random.randint(0, 3)):
        s = {"id": i, "seek": random.randint(0, 10**6), "start": num(), "end": num(), "text": txt(12),
             "tokens": [random.randint(-5, 60000) for _ in range(random.randint(0, 4))],
             "temperature": random.choice([0.0, 0.2, 1.0]), "avg_logprob": -random.random(),
             "compression_ratio": random.uniform(0, 3), "no_speech_prob": random.random() * random.choice([1, 1e-6, 1e-12])}
        if withw:
            ws = []
            t = num() / 10
            for j in range(random.randint(0, 3)):
                st = t + random.uniform(0, 5); en = st + random.uniform(0, 2); t = en
                ws.append({"start": st, "end": en, "word": txt(6), "probability": random.random()})
            s["words"] = ws
        segs.append(s)
    doc = {"language": random.choice(["en", "de", "x\"y"]), "language_probability": random.random(), "duration": num(),
           "text": "".join(s["text"] for s in segs), "segments": segs}
    opts = random.choice([None, {"highlight_words": True}, {"max_line_width": random.randint(1, 30)},
                          {"max_line_width": random.randint(1, 30), "max_line_count": random.randint(1, 3)},
                          {"max_words_per_line": random.randint(1, 4)},
                          {"max_line_width": random.randint(1, 30), "max_line_count": random.randint(1, 3), "highlight_words": True, "max_words_per_line": random.randint(1, 4)}])
    out = {}
    for name, W in (("txt", u.WriteTXT), ("srt", u.WriteSRT), ("vtt", u.WriteVTT), ("tsv", u.WriteTSV)):
        f = io.StringIO(); W(".").write_result(doc, f, opts); out[name] = f.getvalue()
    out["json"] = json.dumps(doc, ensure_ascii=False)
    cases.append({"doc": out["json"], "opts": opts or {}, "out": out})
s = json.dumps(cases, ensure_ascii=True, indent=0)
assert '"""#' not in s
open("python-oracle-cases.json","w").write(s)
print(len(cases))
