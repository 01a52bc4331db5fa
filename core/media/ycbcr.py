"""Video colour for a retime: how Y'CbCr is decoded to R'G'B' and encoded back, and its tags.

Why this exists next to `core.color`: OCIO manages colour*spaces* of R'G'B' data, but
a movie also needs the *encoding* between R'G'B' and Y'CbCr right, or colours come out
washed out (full range read as limited) or shifted (BT.601 matrix on BT.709 video):

* **range** (``tv`` limited 16-235 / ``pc`` full 0-255) and **matrix** (BT.709,
  BT.601 = ``smpte170m``/``bt470bg``, BT.2020) are read from the stream's tags. Untagged
  streams get the usual conventions: BT.709 from 720 lines up and BT.601 below (as
  `core.media.movie` reads them), limited range except ``yuvj*`` formats.
* Decoding converts to full-range R'G'B' with exactly that matrix and range; encoding
  converts back with the output's, and writes range, matrix, primaries and transfer
  into the output stream, so every player decodes what we meant.
* Primaries and transfer are never changed by a retime: the R'G'B' values keep the
  source's encoding (BT.2020 PQ stays BT.2020 PQ) and its tags are copied. Untagged
  ones are written as the family of the matrix that was assumed (BT.709 -> BT.709),
  and the report lists every assumed field.
"""
from __future__ import annotations

from dataclasses import dataclass

from segue.core.media.probe import MovieInfo

#: stream matrix tag -> swscale's name for it
_SWS_MATRIX = {
    "bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470bg", "bt2020nc": "bt2020",
    "bt2020c": "bt2020", "fcc": "fcc", "smpte240m": "smpte240m",
}  # fmt: skip
#: primaries and transfer assumed for an untagged stream, by its (assumed) matrix
_FAMILY = {
    "bt709": ("bt709", "bt709"), "smpte170m": ("smpte170m", "smpte170m"),
    "bt470bg": ("bt470bg", "smpte170m"), "bt2020nc": ("bt2020", "bt2020-10"),
    "bt2020c": ("bt2020", "bt2020-10"), "gbr": ("bt709", "bt709"),
}  # fmt: skip
#: the colour tags written for sources without any (image sequences)
REC709 = ("tv", "bt709", "bt709", "bt709")


@dataclass(frozen=True)
class VideoColour:
    """Range, matrix, primaries and transfer of a video stream (ffmpeg's names).

    ``matrix`` is ``"gbr"`` for RGB streams. ``assumed`` names the fields that were
    not tagged in the source and were filled by convention.
    """

    range: str
    matrix: str
    primaries: str
    transfer: str
    assumed: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """The report's view."""
        return {"range": self.range, "matrix": self.matrix, "primaries": self.primaries,
                "transfer": self.transfer, "assumed": list(self.assumed)}


def source_colour(info: MovieInfo) -> VideoColour:
    """The colour of a probed video stream: its tags, conventions where untagged."""
    tags, assumed = info.colour, []
    if info.is_rgb:
        rng, matrix = "pc", "gbr"
    else:
        rng = tags.range
        if rng is None:
            rng = "pc" if info.pix_fmt.startswith("yuvj") else "tv"
            assumed.append("range")
        matrix = tags.matrix
        if matrix not in _SWS_MATRIX:
            # Untagged, or a matrix swscale cannot apply (YCgCo, ICtCp): the convention.
            matrix = "bt709" if info.height >= 720 else "smpte170m"
            assumed.append("matrix")
    family = _FAMILY.get(matrix, ("bt709", "bt709"))
    primaries, transfer = tags.primaries, tags.transfer
    if primaries is None:
        primaries = family[0]
        assumed.append("primaries")
    if transfer is None:
        transfer = family[1]
        assumed.append("transfer")
    return VideoColour(rng, matrix, primaries, transfer, tuple(assumed))


def decode_filter(colour: VideoColour, size: tuple[int, int] | None = None) -> str:
    """A ``scale`` filter that turns the stream into full-range R'G'B' (optionally resized)."""
    flags = "accurate_rnd+full_chroma_int+full_chroma_inp" + ("+area" if size else "")
    resize = f"w={size[0]}:h={size[1]}:" if size else ""
    if colour.matrix == "gbr":
        return f"scale={resize}flags={flags}"
    return (f"scale={resize}in_color_matrix={_SWS_MATRIX[colour.matrix]}:in_range={colour.range}"
            f":out_range=pc:flags={flags}")


def encode_filters(colour: VideoColour, pix_fmt: str) -> str:
    """Filters from full-range R'G'B' to ``pix_fmt`` with ``colour``'s matrix and range, tagged."""
    flags = "flags=accurate_rnd+full_chroma_int"
    if colour.matrix == "gbr":
        convert = f"scale={flags}"
    else:
        convert = f"scale=in_range=pc:out_color_matrix={_SWS_MATRIX[colour.matrix]}:out_range={colour.range}:{flags}"
    tag_matrix = "gbr" if colour.matrix == "gbr" else colour.matrix
    tags = (f"setparams=range={colour.range}:colorspace={tag_matrix}:color_primaries={colour.primaries}"
            f":color_trc={colour.transfer}")
    return f"{convert},format={pix_fmt},{tags}"


def output_colour(source: VideoColour | None, *, rgb_output: bool, limited_only: bool) -> VideoColour:
    """The output stream's colour: the source's, adapted to what the codec can carry.

    ``source`` None (image-sequence input): Rec.709 tags (see `REC709`). RGB outputs
    (FFV1 of RGB data) are full range with the ``gbr`` matrix; ProRes (``limited_only``)
    is limited range by specification.
    """
    rng, matrix, primaries, transfer = REC709 if source is None else (
        source.range, source.matrix, source.primaries, source.transfer)
    if rgb_output:
        return VideoColour("pc", "gbr", primaries, transfer)
    if matrix == "gbr":  # RGB source into a YUV codec
        matrix, rng = "bt709", "tv"
    if limited_only:
        rng = "tv"
    return VideoColour(rng, matrix, primaries, transfer)
