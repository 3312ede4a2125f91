"""Stage 2: render the metronome templates once (woodblock clicks, 5 s, 16 kHz WAV).

Model independent, so they are cached under the data folder and shared by every experiment;
templates already there are kept.
"""

import argparse

from common import parse_with_conf

from phalar_asteroid.eval.templates import render_templates, template_bpms

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out_dir", required=True, help="Template folder")


def main(conf):
    t = conf["templates"]
    bpms = template_bpms(t["bpm_min"], t["bpm_max"])
    render_templates(
        conf["main_args"]["out_dir"],
        bpms,
        duration=t["template_seconds"],
        first_click=t["first_click"],
        peak=t["template_peak"],
    )
    print(f"{len(bpms)} templates ({bpms[0]}-{bpms[-1]} BPM) in {conf['main_args']['out_dir']}")


if __name__ == "__main__":
    main(parse_with_conf(parser))
