#!/usr/bin/env python3
"""How many 30-second windows dropscribe and faster-whisper decode to the same tokens.

Both systems transcribe the same file with the same model, compute type, beam and threads; each
segment carries the window (`seek`, in frames) it was decoded in. A window matches when both decoded
one at the same seek and their tokens over it are identical. Once the two diverge their seeks usually
differ for a while, so the figure counts the windows where they agree, not just until the first
difference. Dev time only (faster-whisper in bench.py's venv):

    bench/window_match.py [--file long/long-10min.flac] [--model tiny.en] [--compute-type int8] [--beam 5]

With --independent the file is cut into 30-second slices (16 kHz 16-bit WAV, so both read the same
samples) and each slice is transcribed on its own by both, without a prompt: every window then has
the same input in both systems, and a difference in one window cannot shift the windows after it.
A slice matches when the tokens of its first window (seek 0) are identical; "text" compares the
window's text without the timestamp tokens. --fw-isa runs faster-whisper with CT2_FORCE_CPU_ISA set,
and --against-fw compares two faster-whisper runs (the default ISA against --fw-isa) instead, which
shows how far CTranslate2 agrees with itself.
"""
import argparse, json, os, subprocess, sys, tempfile
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (paths, venv and the faster-whisper script)


FW_SLICES = r"""
import json, sys
from faster_whisper import WhisperModel
model_dir, beam, threads, out, compute = sys.argv[1:6]
m = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=int(threads))
result = {}
for path in sys.argv[6:]:
    segs, info = m.transcribe(path, beam_size=int(beam), language="en" if model_dir.endswith(".en") else None)
    result[path] = [{"seek": s.seek, "tokens": s.tokens, "text": s.text} for s in segs]
json.dump(result, open(out, "w"))
"""

FW_WINDOWS = r"""
import json, sys
from faster_whisper import WhisperModel
path, model_dir, beam, threads, out, compute = sys.argv[1:7]
m = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=int(threads))
segs, info = m.transcribe(path, beam_size=int(beam), language="en" if model_dir.endswith(".en") else None)
json.dump({"segments": [{"seek": s.seek, "tokens": s.tokens, "text": s.text} for s in segs]}, open(out, "w"))
"""


def windows(segments):
    grouped = OrderedDict()
    for s in segments:
        grouped.setdefault(s["seek"], []).extend(s["tokens"])
    return grouped


def first_window(segments):
    tokens = [t for s in segments if s["seek"] == 0 for t in s["tokens"]]
    text = "".join(s["text"] for s in segments if s["seek"] == 0).strip()
    return tokens, text


def run_fw(fw_python, args, slices, out, isa):
    env = dict(os.environ)
    if isa:
        env["CT2_FORCE_CPU_ISA"] = isa
    subprocess.run([fw_python, "-c", FW_SLICES, os.path.join(bench.MODELS, args.model), str(args.beam),
                    str(args.threads), out, args.compute_type] + slices, check=True, env=env)
    return {path: first_window(segs) for path, segs in json.load(open(out)).items()}


def independent(args, fw_python, audio):
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "whole.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-i", audio, "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le", wav],
                       check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-i", wav, "-f", "segment", "-segment_time", "30", "-c", "copy",
                        os.path.join(tmp, "slice-%03d.wav")], check=True)
        slices = sorted(os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith("slice-"))
        theirs = run_fw(fw_python, args, slices, os.path.join(tmp, "fw.json"), None if args.against_fw else args.fw_isa)
        if args.against_fw:
            ours = run_fw(fw_python, args, slices, os.path.join(tmp, "fw2.json"), args.fw_isa)
            label = f"faster-whisper (CT2_FORCE_CPU_ISA={args.fw_isa}) against faster-whisper (default ISA)"
        else:
            out = os.path.join(tmp, "ours")
            subprocess.run([bench.BIN, "transcribe", *slices, "--model", os.path.join(bench.MODELS, args.model),
                            "--beam-size", str(args.beam), "--threads", str(args.threads), "--format", "json",
                            "--output-dir", out, "--compute-type", args.compute_type],
                           check=True, stdout=subprocess.DEVNULL)
            ours = {p: first_window(json.load(open(os.path.join(out, os.path.basename(p) + ".json")))["segments"])
                    for p in slices}
            label = "dropscribe against faster-whisper" + (f" (CT2_FORCE_CPU_ISA={args.fw_isa})" if args.fw_isa else "")
    tokens = sum(ours[p][0] == theirs[p][0] for p in slices)
    texts = sum(ours[p][1] == theirs[p][1] for p in slices)
    print(f"{args.file}, {args.model}, {args.compute_type}, beam {args.beam}, {len(slices)} independent 30-s slices, "
          f"{label}: {tokens} windows token-identical, {texts} with identical text")
    for p in slices:
        if ours[p][1] != theirs[p][1]:
            print(f"  {os.path.basename(p)}: ours   {ours[p][1]!r}\n  {' ' * len(os.path.basename(p))}  theirs {theirs[p][1]!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default="long/long-10min.flac")
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--keep", help="a folder to keep both transcripts in (dropscribe's and fw.json)")
    ap.add_argument("--independent", action="store_true", help="30-s slices, each transcribed on its own")
    ap.add_argument("--fw-isa", help="CT2_FORCE_CPU_ISA for faster-whisper (with --independent)")
    ap.add_argument("--against-fw", action="store_true", help="with --independent and --fw-isa: fw against fw")
    args = ap.parse_args()
    fw_python = bench.ensure_venv()
    audio = os.path.join(bench.CORPUS, args.file)
    if args.independent:
        return independent(args, fw_python, audio)
    model_dir = os.path.join(bench.MODELS, args.model)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        subprocess.run([bench.BIN, "transcribe", audio, "--model", model_dir, "--beam-size", str(args.beam),
                        "--threads", str(args.threads), "--format", "json", "--output-dir", tmp,
                        "--compute-type", args.compute_type], check=True, stdout=subprocess.DEVNULL)
        ours = windows(json.load(open(os.path.join(tmp, os.path.basename(audio) + ".json")))["segments"])
        out = os.path.join(tmp, "fw.json")
        subprocess.run([fw_python, "-c", FW_WINDOWS, audio, model_dir, str(args.beam), str(args.threads), out,
                        args.compute_type], check=True)
        theirs = windows(json.load(open(out))["segments"])
    same_seek = [seek for seek in theirs if seek in ours]
    identical = [seek for seek in same_seek if ours[seek] == theirs[seek]]
    first = next((seek for seek in theirs if ours.get(seek) != theirs[seek]), None)
    print(f"{args.file}, {args.model}, {args.compute_type}, beam {args.beam}: faster-whisper decoded {len(theirs)} windows, "
          f"dropscribe {len(ours)}; {len(same_seek)} start at the same seek, {len(identical)} of those have identical tokens "
          f"({len(identical) / max(1, len(theirs)):.0%} of faster-whisper's windows)"
          + (f"; the first difference is at {first / 100:.2f} s" if first is not None else ""))


if __name__ == "__main__":
    main()
