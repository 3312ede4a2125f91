"""Stage 3: the reference trackers on the same audio as PHALAR (model independent).

- ``madmom``: ``RNNBeatProcessor`` + ``DBNBeatTrackingProcessor`` (100 frames/s, library
  defaults) on the mix at 44.1 kHz;
- ``onset_dp``: librosa's onset strength at PHALAR's envelope rate (16 kHz, hop 320) through the
  same dynamic-programming decoder as PHALAR's envelope.

Writes ``<out_dir>/<system>/<track_id>.beats``; tracks already done are skipped.
"""

import argparse
import os

from common import (
    REFERENCE_SYSTEMS,
    beats_file,
    load_manifest,
    load_mix,
    parse_with_conf,
    write_beat_times,
)
from tqdm import tqdm

from phalar_asteroid.eval.beat import MadmomBeatTracker, onset_strength_beats

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--out_dir", required=True, help="Folder of the reference beat files")


def main(conf):
    args = conf["main_args"]
    manifest = load_manifest(args["manifest"])
    todo = [
        t
        for t in manifest
        if not all(
            os.path.isfile(beats_file(args["out_dir"], s, t["track_id"])) for s in REFERENCE_SYSTEMS
        )
    ]
    madmom = MadmomBeatTracker() if todo else None
    for track in tqdm(todo, desc="madmom + onset beats"):
        track_id = track["track_id"]
        rate = MadmomBeatTracker.sample_rate
        write_beat_times(
            beats_file(args["out_dir"], "madmom", track_id), madmom(load_mix(track, rate), rate)
        )
        wav = load_mix(track, 16000)
        beats = onset_strength_beats(wav, 16000, hop_length=conf["baseline"]["onset_hop"])
        write_beat_times(beats_file(args["out_dir"], "onset_dp", track_id), beats)
    print(f"Reference beats of {len(manifest)} tracks in {args['out_dir']} ({len(todo)} new)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
