"""Audio-guide benchmark: spoken question -> answer text and audio, and QA quality.

    .venv/bin/python bench/guide_bench.py [--rounds 2]

Prints, side by side with a baseline measured in the same run:
- latency of a spoken question (about 2-6 s of speech) to answer text, and to answer text
  plus its synthesised audio, p50/p90, through the real HTTP views (Flask test client),
  models warm; Whisper base int8 on 2 threads, greedy decoding with VAD, vs the same
  clips transcribed with beam 5 without VAD (faster-whisper's default decoding);
- the ASR real-time factor (transcription seconds / audio seconds);
- QA on the labelled questions (data/guide/eval/*.json), the tuning half and the held-out
  half side by side: top-1 / top-3, unanswerable questions refused, answerable ones
  wrongly refused, and per kind of question; ours beside BM25 alone and embeddings alone.
Targets: p50 <= 3 s (issue 6); on the held-out half top-1 >= 95 %, refused >= 95 %,
wrongly refused <= 2 % (issue 11). ``--qa-only`` skips the voice part.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

EN_QUESTIONS = [   # said by Piper's joe voice; each about 4-6 s
    "Excuse me, could you tell me how high the Jade Emperor Peak on Mount Tai is?",
    "Where exactly is Confucius buried in the cemetery, and who lies beside him?",
    "Who laid out the garden at the back of the Kong Family Mansion, and when was that?",
    "How many stone steps are there on the Eighteen Bends up to the South Gate of Heaven?",
    "When was the main hall of the Dai Temple built, and how long is the mural inside it?",
    "What are the opening hours of the Temple of Confucius today, and when is last entry?",
]
FIXTURES = ROOT / "tests" / "guide" / "fixtures"


def pct(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnframes() / w.getframerate()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--qa-only", action="store_true", help="only the QA figures")
    args = parser.parse_args()

    from app import create_app
    from catalog.services import load_catalog
    from core.db import connect, migrate
    from guide import asr, models, services

    tmp = Path(tempfile.mkdtemp(prefix="guide-bench-"))
    app = create_app({"ENV": "testing", "GUIDE_ASK_PER_MINUTE": 100000,
                      "GUIDE_VOICE_PER_MINUTE": 100000}, instance_path=str(tmp))
    db = connect(app.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    clock = app.extensions["scenic.clock"]
    services.load_content(db, clock=clock)
    client = app.test_client()
    if args.qa_only:
        with app.app_context():
            print_qa(db, clock)
        db.conn.close()
        shutil.rmtree(tmp, ignore_errors=True)
        return 0

    clips = []
    t0 = time.perf_counter()
    voice = models.piper_voice()
    for q in EN_QUESTIONS:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            voice.synthesize_wav(q, w)
        clips.append(("en", q, buf.getvalue()))
    for name, text in json.loads((FIXTURES / "transcripts.json").read_text()).items():
        clips.append(("zh", text, (FIXTURES / name).read_bytes()))
    seconds = [wav_seconds(c[2]) for c in clips]
    print(f"clips: {len(clips)} ({sum(c[0] == 'en' for c in clips)} en made with Piper, "
          f"{sum(c[0] == 'zh' for c in clips)} zh fixtures), speech "
          f"{min(seconds):.1f}-{max(seconds):.1f} s, median {statistics.median(seconds):.1f} s")

    def ask_voice(lang, data):
        return client.post("/api/guide/ask-voice", data={
            "site": "taishan" if lang == "zh" else "kongfu", "lang": lang,
            "audio": (io.BytesIO(data), "q.wav")}, content_type="multipart/form-data")

    # Cold start: first question loads Whisper, the encoder, jieba and Piper.
    t = time.perf_counter()
    first = ask_voice(clips[0][0], clips[0][2])
    client.get(first.get_json()["audio_url"])
    cold = time.perf_counter() - t
    print(f"cold start (models load on the first question): {cold:.2f} s; "
          f"setup incl. clip synthesis {time.perf_counter() - t0:.1f} s")

    answer_dir = tmp / "guide-audio" / "answers"
    text_lat, full_lat, asr_rtf, cpu_q, asr_cpu_rtf = [], [], [], [], []
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        shutil.rmtree(answer_dir, ignore_errors=True)     # measure synthesis, not the cache
        for lang, _text, data in clips:
            t, c = time.perf_counter(), time.process_time()
            resp = ask_voice(lang, data)
            t_text = time.perf_counter() - t
            body = resp.get_json()
            assert resp.status_code == 200, body
            audio = client.get(body["audio_url"])
            assert audio.status_code == 200
            text_lat.append(t_text)
            full_lat.append(time.perf_counter() - t)
            cpu_q.append(time.process_time() - c)
            samples = asr.decode(data, max_bytes=1 << 24, max_seconds=60)
            t, c = time.perf_counter(), time.process_time()
            asr.transcribe(samples, lang)
            speech = len(samples) / asr.SAMPLE_RATE
            asr_rtf.append((time.perf_counter() - t) / speech)
            asr_cpu_rtf.append((time.process_time() - c) / speech)

    # Baseline: faster-whisper's default decoding (beam 5, no VAD) on the same clips.
    base_rtf, base_asr, base_cpu_rtf = [], [], []
    model = models.whisper_model()
    for lang, _text, data in clips:
        samples = asr.decode(data, max_bytes=1 << 24, max_seconds=60)
        t, c = time.perf_counter(), time.process_time()
        segs, _info = model.transcribe(samples, language=lang, beam_size=5,
                                       initial_prompt=asr.PROMPTS[lang])
        "".join(s.text for s in segs)
        dt = time.perf_counter() - t
        speech = len(samples) / asr.SAMPLE_RATE
        base_asr.append(dt)
        base_rtf.append(dt / speech)
        base_cpu_rtf.append((time.process_time() - c) / speech)
    # The upload check (header, bounded decode in a child process) against the in-process
    # decode it replaced (faster_whisper.audio.decode_audio), on the same clips.
    from faster_whisper.audio import decode_audio
    ours_decode, old_decode = [], []
    for _ in range(args.rounds):
        for _lang, _text, data in clips:
            t = time.perf_counter()
            asr.decode(data, max_bytes=4 << 20, max_seconds=30)
            ours_decode.append(time.perf_counter() - t)
            t = time.perf_counter()
            decode_audio(io.BytesIO(data), sampling_rate=asr.SAMPLE_RATE)
            old_decode.append(time.perf_counter() - t)
    load_after = os.getloadavg()

    n = len(full_lat)
    print(f"\nspoken question -> answer, {n} runs, {os.cpu_count()} CPUs visible, "
          f"model threads {app.config['GUIDE_THREADS']}")
    print(f"{'':34}{'p50':>8}{'p90':>8}")
    print(f"{'text answer (ASR+retrieval)':34}{pct(text_lat, .5):8.2f}{pct(text_lat, .9):8.2f}  s")
    print(f"{'text + synthesised audio':34}{pct(full_lat, .5):8.2f}{pct(full_lat, .9):8.2f}  s"
          f"   target p50 <= 3 s")
    print(f"{'ASR real-time factor (ours)':34}{pct(asr_rtf, .5):8.2f}{pct(asr_rtf, .9):8.2f}"
          f"   greedy + VAD")
    print(f"{'ASR real-time factor (baseline)':34}{pct(base_rtf, .5):8.2f}{pct(base_rtf, .9):8.2f}"
          f"   beam 5, no VAD")
    print(f"{'CPU seconds per question (ours)':34}{pct(cpu_q, .5):8.2f}{pct(cpu_q, .9):8.2f}"
          f"   process CPU time, text + audio")
    print(f"{'ASR CPU-s per speech-s (ours)':34}{pct(asr_cpu_rtf, .5):8.2f}"
          f"{pct(asr_cpu_rtf, .9):8.2f}")
    print(f"{'ASR CPU-s per speech-s (baseline)':34}{pct(base_cpu_rtf, .5):8.2f}"
          f"{pct(base_cpu_rtf, .9):8.2f}")
    print(f"{'upload check + decode (ours)':34}{pct(ours_decode, .5) * 1000:8.0f}"
          f"{pct(ours_decode, .9) * 1000:8.0f}  ms  child process, bounded")
    print(f"{'in-process decode (before)':34}{pct(old_decode, .5) * 1000:8.0f}"
          f"{pct(old_decode, .9) * 1000:8.0f}  ms  faster_whisper.audio.decode_audio")
    print(f"ASR wall RTF ratio baseline/ours (median): {pct(base_rtf, .5) / pct(asr_rtf, .5):.2f}x; "
          f"CPU ratio: {pct(base_cpu_rtf, .5) / pct(asr_cpu_rtf, .5):.2f}x")
    print(f"load average (1 min) before/after the latency runs: {load_before[0]:.1f} / "
          f"{load_after[0]:.1f} on {os.cpu_count()} CPUs: wall times include other "
          f"processes' use of the shared CPUs")

    with app.app_context():
        print_qa(db, clock)
    db.conn.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _pct(value) -> str:
    return "     -" if value is None else f"{value:6.1%}"


def print_qa(db, clock) -> None:
    """QA figures per split, ours beside BM25 alone (and embeddings alone), per kind."""
    from guide import evaluate
    questions = evaluate.load_questions()
    results, ms = {}, {}
    for mode in ("bm25", "embed", "fused"):
        t = time.perf_counter()
        results[mode] = evaluate.evaluate(db, clock, questions, mode=mode)
        ms[mode] = (time.perf_counter() - t) / max(len(questions), 1) * 1000
    splits = {split: results["fused"]["splits"][split]["questions"] for split in evaluate.SPLITS}
    print(f"\nquestion answering on data/guide/eval/*.json: {len(questions)} questions "
          f"({', '.join(f'{k} {v}' for k, v in splits.items())}); tuned on 'tune' only")
    cols = ("top-1", "top-3", "refused", "wrongly")
    head = "".join(f"{c:>8}" for c in cols)
    print(f"{'':16}{'tune':^32}  {'heldout':^32}")
    print(f"{'retrieval':16}{head}  {head}")
    labels = {"bm25": "BM25 alone", "embed": "embeddings", "fused": "ours (fused)"}
    for mode in ("bm25", "embed", "fused"):
        line = f"{labels[mode]:16}"
        for split in evaluate.SPLITS:
            f = results[mode]["splits"][split]
            line += "".join(f"  {_pct(f[k])}" for k in ("top1", "top3", "refused",
                                                       "wrongly_refused")) + "  "
        print(f"{line}{ms[mode]:5.0f} ms/question")
    print("targets on heldout: top-1 >= 95 %, unanswerable refused >= 95 %, wrongly refused "
          "<= 2 %")
    print(f"\nper kind (top-1; refused for near-miss){'':4}{'tune':^22}  {'heldout':^22}")
    print(f"{'kind':16}{'n':>6}{'BM25':>8}{'ours':>8}  {'n':>6}{'BM25':>8}{'ours':>8}")
    for kind in evaluate.QUESTION_KINDS:
        line = f"{kind:16}"
        for split in evaluate.SPLITS:
            ours = results["fused"]["splits"][split]["per_kind"].get(kind)
            base = results["bm25"]["splits"][split]["per_kind"].get(kind)
            line += f"{(ours or {}).get('n', 0):>6}  {_pct(base and base['rate'])}  " \
                    f"{_pct(ours and ours['rate'])}  "
        print(line)

if __name__ == "__main__":
    sys.exit(main())
