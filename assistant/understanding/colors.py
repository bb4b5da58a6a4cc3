"""Colours by name (English, and Japanese in any script) or by hex code, as "#rrggbb"."""

from __future__ import annotations

import functools
import re

from assistant.understanding.text import normalize, normalize_all, strip_fillers

# fmt: off
# CSS values for the English names, so a page looks the way a designer would expect; brown is
# CSS "saddlebrown": CSS brown (#a52a2a) is a red that people name maroon, not brown.
_EN_COLORS = {
    "red": "#ff0000", "dark red": "#8b0000", "crimson": "#dc143c", "maroon": "#800000",
    "pink": "#ffc0cb", "light pink": "#ffb6c1", "hot pink": "#ff69b4", "salmon": "#fa8072",
    "coral": "#ff7f50", "orange": "#ffa500", "dark orange": "#ff8c00", "gold": "#ffd700",
    "yellow": "#ffff00", "light yellow": "#ffffe0", "cream": "#fffdd0", "beige": "#f5f5dc",
    "ivory": "#fffff0", "khaki": "#f0e68c", "tan": "#d2b48c", "brown": "#8b4513",
    "dark brown": "#5c4033", "light brown": "#c4a484", "chocolate": "#d2691e",
    "green": "#008000", "dark green": "#006400", "light green": "#90ee90", "lime": "#00ff00",
    "yellow green": "#9acd32", "olive": "#808000", "mint": "#98ff98", "teal": "#008080",
    "turquoise": "#40e0d0", "cyan": "#00ffff", "aqua": "#00ffff", "blue": "#0000ff",
    "light blue": "#add8e6", "sky blue": "#87ceeb", "dark blue": "#00008b", "navy": "#000080",
    "navy blue": "#000080", "royal blue": "#4169e1", "indigo": "#4b0082", "purple": "#800080",
    "light purple": "#cbc3e3", "dark purple": "#301934", "violet": "#ee82ee",
    "lavender": "#e6e6fa", "magenta": "#ff00ff", "white": "#ffffff", "black": "#000000",
    "gray": "#808080", "grey": "#808080", "light gray": "#d3d3d3", "light grey": "#d3d3d3",
    "dark gray": "#a9a9a9", "dark grey": "#a9a9a9", "silver": "#c0c0c0",
    "steel blue": "#4682b4",
}
# Japanese names point at an English name so both languages agree on the shade.
_JA_COLORS = {
    "red": ["赤", "あか", "赤い", "あかい", "レッド", "真っ赤", "まっか"],
    "dark red": ["えんじ", "臙脂", "えんじ色", "ワインレッド"],
    "pink": ["ピンク", "桃色", "ももいろ", "桃"],
    "orange": ["オレンジ", "橙", "だいだい", "橙色", "だいだいいろ"],
    "gold": ["金色", "きんいろ", "金", "ゴールド"],
    "yellow": ["黄色", "きいろ", "黄", "黄色い", "きいろい", "イエロー"],
    "cream": ["クリーム色", "クリーム"],
    "beige": ["ベージュ"],
    "brown": ["茶色", "ちゃいろ", "茶", "茶色い", "ちゃいろい", "ブラウン"],
    "green": ["緑", "みどり", "緑色", "グリーン"],
    "dark green": ["深緑", "ふかみどり"],
    "yellow green": ["黄緑", "きみどり", "黄緑色"],
    "light green": ["薄緑", "うすみどり"],
    "blue": ["青", "あお", "青い", "あおい", "ブルー"],
    "light blue": ["水色", "みずいろ", "ライトブルー"],
    "sky blue": ["空色", "そらいろ", "スカイブルー"],
    "navy": ["紺", "こん", "紺色", "こんいろ", "ネイビー"],
    "indigo": ["藍色", "あいいろ", "藍"],
    "purple": ["紫", "むらさき", "紫色", "パープル"],
    "violet": ["すみれ色", "菫色", "バイオレット"],
    "white": ["白", "しろ", "白い", "しろい", "ホワイト", "真っ白", "まっしろ"],
    "black": ["黒", "くろ", "黒い", "くろい", "ブラック", "真っ黒", "まっくろ"],
    "gray": ["灰色", "はいいろ", "グレー", "グレイ", "ねずみ色", "ねずみいろ", "鼠色"],
    "silver": ["銀色", "ぎんいろ", "銀", "シルバー"],
    "turquoise": ["ターコイズ"],
    "teal": ["青緑", "あおみどり"],
    "lavender": ["ラベンダー", "ラベンダー色"],
    "steel blue": ["鋼色", "はがねいろ", "スチールブルー"],
    "royal blue": ["ロイヤルブルー"],
    "dark blue": ["紺青", "こんじょう", "ダークブルー"],
    "dark brown": ["焦げ茶", "こげちゃ", "焦げ茶色", "こげちゃいろ"],
    "chocolate": ["チョコレート色", "チョコレートいろ"],
    "olive": ["オリーブ色", "オリーブいろ", "オリーブ"],
    "khaki": ["カーキ", "カーキ色"],
    "salmon": ["サーモンピンク", "サーモン"],
    "coral": ["コーラル", "珊瑚色", "さんごいろ"],
    "mint": ["ミント", "ミントグリーン"],
    "maroon": ["栗色", "くりいろ"],
}
# fmt: on
_COLORS = {normalize(name): hex_ for name, hex_ in _EN_COLORS.items()}
for _english, _names in _JA_COLORS.items():
    for _name in normalize_all(_names):
        _COLORS[_name] = _EN_COLORS[_english]

# fmt: off
_LIGHT = normalize_all(
    ["light", "pale", "薄い", "うすい", "淡い", "あわい", "明るい", "あかるい", "薄", "淡"]
)
_DARK = normalize_all(["dark", "deep", "濃い", "こい", "暗い", "くらい", "濃", "深"])
_COLOR_WORDS = normalize_all(["色", "いろ", "colour", "color", "coloured", "colored"])
_TAILS = normalize_all(
    ["でおねがいします", "でお願いします", "にしてください", "がいいです", "がいい", "にして",
     "にします", "です", "で", "の", "please"]
)
# fmt: on
_HEX = re.compile(r"#?([0-9a-f]{6}|[0-9a-f]{3})")
_RGB = re.compile(r"rgb\((\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})\)")


def _mix(hex_: str, target: int, share: float) -> str:
    """Blend towards white (255) or black (0): "薄い紫", "dark pink" and the like."""
    channels = (int(hex_[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (target - c) * share):02x}" for c in channels)


def _lookup(text: str) -> str | None:
    if text in _COLORS:
        return _COLORS[text]
    for word in _COLOR_WORDS:
        if text.endswith(word) and len(text) > len(word):
            base = text[: -len(word)].rstrip(" -")
            if base in _COLORS:
                return _COLORS[base]
    return None


def _shaded(text: str) -> str | None:
    for words, target in ((_LIGHT, 255), (_DARK, 0)):
        for word in words:
            if text.startswith(word) and len(text) > len(word):
                base = _lookup(text[len(word) :].lstrip(" -の"))
                if base is not None:
                    return _mix(base, target, 0.45)
    return None


def parse_color(text: str) -> str | None:
    """A colour as "#rrggbb" from "#abc", "light blue", "水色", "あかいろ" or "rgb(1, 2, 3)"."""
    text = strip_fillers(normalize(text))
    for _ in range(3):
        if (found := _lookup(text) or _shaded(text)) is not None:
            return found
        if match := _HEX.fullmatch(text):
            digits = match.group(1)
            if not text.startswith("#") and (len(digits) != 6 or digits.isalpha()):
                return None  # "facade" is a word and "123" a number, not colours
            return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
        if match := _RGB.fullmatch(text.replace(" ", "")):
            channels = [int(g) for g in match.groups()]
            return "#" + "".join(f"{c:02x}" for c in channels) if max(channels) < 256 else None
        for tail in _TAILS:
            if text.endswith(tail) and len(text) > len(tail):
                text = text[: -len(tail)].rstrip(" ,、")
                break
        else:
            return None
    return None


@functools.lru_cache(maxsize=256)  # the named colours, computed once (each read-back asks)
def _lab(hex_: str) -> tuple[float, float, float]:
    """CIE L*a*b* of an sRGB colour: distances there match what people see as "close"."""
    linear = []
    for i in (1, 3, 5):
        c = int(hex_[i : i + 2], 16) / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = linear
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def color_name(hex_: str, language: str) -> str:
    """The nearest named colour, so a read-back says "blue" rather than a code.

    Only names with a Japanese word take part, so both languages name the same shade.
    """
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", hex_):
        return hex_
    target = _lab(hex_)

    def distance(english: str) -> float:
        return sum((a - b) ** 2 for a, b in zip(_lab(_EN_COLORS[english]), target, strict=True))

    nearest = min(_JA_COLORS, key=distance)
    return _JA_COLORS[nearest][0] if language == "ja" else nearest
