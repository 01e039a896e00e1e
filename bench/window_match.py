#!/usr/bin/env python3
"""How many 30-second windows dropscribe and faster-whisper decode to the same tokens.

Both systems transcribe the same file with the same model, compute type, beam and threads; each
segment carries the window (`seek`, in frames) it was decoded in. A window matches when both decoded
one at the same seek and their tokens over it are identical. Once the two diverge their seeks usually
differ for a while, so the figure counts the windows where they agree, not just until the first
difference. Dev time only (faster-whisper in bench.py's venv):

    bench/window_match.py [--file long/long-10min.flac] [--model tiny.en] [--compute-type int8] [--beam 5]
"""
import argparse, json, os, subprocess, sys, tempfile
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (paths, venv and the faster-whisper script)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default="long/long-10min.flac")
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--keep", help="a folder to keep both transcripts in (dropscribe's and fw.json)")
    args = ap.parse_args()
    fw_python = bench.ensure_venv()
    audio = os.path.join(bench.CORPUS, args.file)
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
