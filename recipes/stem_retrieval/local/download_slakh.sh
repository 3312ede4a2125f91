#!/usr/bin/env bash
# Download Slakh2100 (redux) for the recipe (not run by the tests). Two sources:
#   --source zenodo16k  the 16 kHz redux re-release that PHALAR trains on (Zenodo record 7708270,
#                       ~26 GB), unpacked to $out_dir/slakh/slakh2100_redux_16k;
#   --source mirdata    mirdata's own download of the 44.1 kHz FLAC redux (~100 GB, version
#                       "2100-redux"); $out_dir/slakh/slakh2100_redux_16k is then a symlink to it
#                       and the loader resamples to 16 kHz on the fly.
# Then: ./run.sh --stage 1 --dataset slakh --slakh_root $out_dir
set -e
set -o pipefail

out_dir=data/real
source=zenodo16k
python_path=python
help_message="Usage: local/download_slakh.sh [--out_dir DIR] [--source zenodo16k|mirdata]"

. utils/parse_options.sh

mkdir -p $out_dir/slakh/logs
case $source in
  zenodo16k)
    url="https://zenodo.org/records/7708270/files/slakh2100_redux_16k.tar.gz?download=1"
    wget -c --tries=0 --read-timeout=20 "$url" -O $out_dir/slakh/slakh2100_redux_16k.tar.gz
    tar -xzf $out_dir/slakh/slakh2100_redux_16k.tar.gz -C $out_dir/slakh \
      >> $out_dir/slakh/logs/untar.log 2>&1
    ;;
  mirdata)
    $python_path -c "
import mirdata
dataset = mirdata.initialize('slakh', data_home='$out_dir/slakh/mirdata', version='2100-redux')
dataset.download(cleanup=True)
"
    ln -sfn mirdata/slakh2100_flac_redux $out_dir/slakh/slakh2100_redux_16k
    ;;
  *) echo "Unknown --source $source (zenodo16k | mirdata)"; exit 1 ;;
esac
echo "Slakh ready under $out_dir/slakh: ./run.sh --stage 1 --dataset slakh --slakh_root $out_dir"
