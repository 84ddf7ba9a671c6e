"""A synthetic sign language with a known gloss->frame alignment, in the shape of PHOENIX14T.

    lexicon   K glosses; each is a prototype motion of the 50-joint skeleton: 2-3 keyframes of the arm,
              wrist and head parameters, a hand shape per keyframe (finger curls from a small inventory),
              an optional repeated movement, one- or two-handed, a typical duration
    grammar   weather-forecast clauses (time, region, weather, intensity; temperatures; wind), 1-3 per
              sentence, gloss order of a sign language, and a spoken sentence in another word order
              with synonyms ("STRONG" -> "heavy" | "strong")
    render    for each gloss: its duration times the signer's tempo and a random factor, a monotone time
              warp u -> u^gamma, co-articulation (the first frames blend from the previous sign's last
              pose), the signer's posture offset, amplitude and bone scale, angle noise; then forward
              kinematics (skeleton.py), so bones never stretch

A frame is the 150 joint values followed by the PT counter t/T (t = 0..T-1). Values are rounded to
`decimals` places, what the PT text files hold, so writing and reading them back is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from paperzoo.core import param

from .skeleton import L_ELBOW, L_HAND, L_WRIST, N_JOINTS, N_VALUES, R_ELBOW, R_HAND, R_WRIST, forward_kinematics

SPLITS = ("train", "dev", "test")
SPECIALS = ("<unk>", "<pad>", "<s>", "</s>")  # the first four lines of PT's src_vocab.txt


@dataclass
class SignSequence:
    """One sentence: its glosses, spoken text, frames (T, 151) with the counter last, and (synthetic only)
    the index of the gloss every frame belongs to."""

    name: str
    glosses: list[str]
    text: str
    frames: np.ndarray
    alignment: np.ndarray | None = None

    @property
    def joints(self) -> np.ndarray:
        return self.frames[:, :N_VALUES]

    def __len__(self) -> int:
        return len(self.frames)


@dataclass
class SignCorpus:
    """Splits of sequences and the gloss vocabulary (without the four special tokens)."""

    splits: dict[str, list[SignSequence]]
    glosses: list[str]
    source: str = "synthetic"

    @property
    def has_alignment(self) -> bool:
        return all(s.alignment is not None for s in self.splits["test"])


def counter(n_frames: int) -> np.ndarray:
    """PT's progress counter t/T for t = 0..T-1 (the last frame is (T-1)/T, never 1)."""
    return np.arange(n_frames) / n_frames


# --------------------------------------------------------------------------------- pose parameters

# per arm: shoulder flexion (forward), abduction (outward), twist, elbow flexion, wrist flexion, wrist
# deviation, finger spread, then the curl of the five fingers; then head nod and turn
ARM = ("sh_flex", "sh_abd", "sh_twist", "elbow", "wr_flex", "wr_dev", "spread", *(f"curl{f}" for f in range(5)))
N_ARM = len(ARM)
N_Q = 2 * N_ARM + 2  # right arm, left arm, head
REST_ARM = np.array([0.25, 0.15, 0.0, 1.3, 0.0, 0.0, 0.3, 0.4, 0.3, 0.3, 0.3, 0.3])
HANDSHAPES = np.array([  # finger curls thumb..pinky: flat, fist, point, V, thumb-up, claw, O, pinky
    [0.0, 0.0, 0.0, 0.0, 0.0], [0.8, 1.0, 1.0, 1.0, 1.0], [0.8, 0.0, 1.0, 1.0, 1.0], [0.8, 0.0, 0.0, 1.0, 1.0],
    [0.0, 1.0, 1.0, 1.0, 1.0], [0.3, 0.5, 0.5, 0.5, 0.5], [0.6, 0.6, 0.6, 0.6, 0.6], [0.8, 1.0, 1.0, 1.0, 0.0]])
ARM_RANGE = np.array([[0.2, 1.5], [-0.4, 0.8], [-0.6, 0.6], [0.5, 2.3], [-0.7, 0.7], [-0.4, 0.4], [0.0, 1.0]])
CURL_ANGLES = np.array([1.3, 1.5, 1.0])  # flexion of the 3 finger joints at curl 1


def rest_q() -> np.ndarray:
    return np.concatenate([REST_ARM, REST_ARM, [0.0, 0.0]])


def q_to_angles(q: np.ndarray) -> np.ndarray:
    """Pose parameters (T, N_Q) -> joint rotations (T, 50, 3) for skeleton.forward_kinematics."""
    T = len(q)
    ang = np.zeros((T, N_JOINTS, 3))
    ang[:, 0, 0], ang[:, 0, 1] = q[:, -2], q[:, -1]
    for arm, side in ((0, -1), (1, 1)):
        a = q[:, arm * N_ARM:(arm + 1) * N_ARM]
        elbow, wrist, hand = (R_ELBOW, R_WRIST, R_HAND) if side < 0 else (L_ELBOW, L_WRIST, L_HAND)
        ang[:, elbow] = np.stack([a[:, 0], a[:, 2], -side * a[:, 1]], axis=-1)  # upper arm
        ang[:, wrist, 0] = ang[:, hand, 0] = a[:, 3]  # forearm (both wrist joints: they coincide)
        for f in range(5):
            base = hand + 1 + 4 * f
            ang[:, base, 0] = a[:, 4]
            ang[:, base, 2] = -side * (a[:, 5] + 0.12 * (f - 2) * a[:, 6])
            for k in range(3):
                ang[:, base + 1 + k, 0] = CURL_ANGLES[k] * a[:, 7 + f]
    return ang


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class Sign:
    """A gloss's prototype motion: keyframes of the pose parameters, a repeated movement, a duration."""

    keyframes: np.ndarray  # (K, N_Q)
    osc_index: int
    osc_amplitude: float
    osc_cycles: float
    frames: float  # typical duration in frames

    def trajectory(self, u: np.ndarray) -> np.ndarray:
        """Pose parameters (len(u), N_Q) at normalised times u in [0, 1]."""
        k = len(self.keyframes) - 1
        seg = np.minimum((u * k).astype(int), k - 1)
        w = smoothstep(u * k - seg)[:, None]
        q = (1 - w) * self.keyframes[seg] + w * self.keyframes[seg + 1]
        q[:, self.osc_index] += self.osc_amplitude * np.sin(2 * np.pi * self.osc_cycles * u) * np.sin(np.pi * u)
        return q


def random_sign(rng: np.random.Generator, frames_per_gloss: float) -> Sign:
    n_key = int(rng.integers(2, 4))
    two_handed = rng.random() < 0.4
    mirror = rng.random() < 0.6
    base_left = rest_arm_jitter(rng)
    shape = HANDSHAPES[rng.integers(len(HANDSHAPES))]
    keys = []
    for _ in range(n_key):
        if rng.random() < 0.3:
            shape = HANDSHAPES[rng.integers(len(HANDSHAPES))]
        right = np.concatenate([rng.uniform(ARM_RANGE[:, 0], ARM_RANGE[:, 1]),
                                np.clip(shape + rng.normal(0, 0.08, 5), 0, 1)])
        left = (right.copy() if mirror else base_left) if two_handed else REST_ARM
        keys.append(np.concatenate([right, left, rng.uniform(-0.15, 0.15, 2)]))
    keys = np.array(keys)
    osc = rng.random() < 0.4
    return Sign(keys, int(rng.integers(0, 4)), float(rng.uniform(0.1, 0.3)) if osc else 0.0,
                float(rng.integers(1, 4)), frames_per_gloss * float(rng.uniform(0.7, 1.3)))


def rest_arm_jitter(rng: np.random.Generator) -> np.ndarray:
    return REST_ARM + np.concatenate([rng.normal(0, 0.15, 7), np.zeros(5)])


@dataclass
class Signer:
    """How one person signs: bone scale, posture offset, tempo, amplitude."""

    name: str
    scale: float
    offset: np.ndarray  # (N_Q,)
    tempo: float
    amplitude: float

    def apply(self, q: np.ndarray) -> np.ndarray:
        rest = rest_q()
        return rest + self.amplitude * (q - rest) + self.offset


def random_signer(index: int, rng: np.random.Generator) -> Signer:
    offset = np.zeros(N_Q)
    for arm in (0, 1):
        offset[arm * N_ARM:arm * N_ARM + 4] = rng.normal(0, 0.06, 4)
    return Signer(f"signer{index + 1:02d}", float(rng.uniform(0.93, 1.07)), offset,
                  float(rng.uniform(0.85, 1.15)), float(rng.uniform(0.9, 1.1)))


# --------------------------------------------------------------------------------- grammar

BASE = {
    "time": [("HEUTE", ["today"]), ("MORGEN", ["tomorrow"]), ("NACHT", ["tonight", "in the night"]),
             ("FRUEH", ["in the morning", "early"]), ("ABEND", ["in the evening"]),
             ("WOCHENENDE", ["at the weekend"]), ("MONTAG", ["on monday"]), ("DIENSTAG", ["on tuesday"]),
             ("MITTWOCH", ["on wednesday"]), ("DONNERSTAG", ["on thursday"]), ("FREITAG", ["on friday"])],
    "region": [("NORD", ["the north"]), ("SUED", ["the south"]), ("OST", ["the east"]), ("WEST", ["the west"]),
               ("KUESTE", ["the coast", "coastal areas"]), ("BERG", ["the mountains"]), ("ALPEN", ["the alps"]),
               ("FLUSS", ["the river valleys"]), ("MITTE", ["the centre", "central areas"]),
               ("DEUTSCHLAND", ["germany", "the whole country"])],
    "weather": [("REGEN", ["rain"]), ("SCHNEE", ["snow"]), ("SONNE", ["sunshine", "sun"]), ("WOLKE", ["clouds"]),
                ("NEBEL", ["fog"]), ("GEWITTER", ["thunderstorms"]), ("SCHAUER", ["showers"]),
                ("FROST", ["frost"]), ("HAGEL", ["hail"]), ("GLATT", ["ice", "black ice"])],
    "intensity": [("STARK", ["heavy", "strong"]), ("SCHWACH", ["light", "weak"]), ("VIEL", ["a lot of", "much"]),
                  ("WENIG", ["little", "some"])],
    "number": [(n.upper(), [w]) for n, w in (("eins", "one"), ("zwei", "two"), ("drei", "three"),
               ("vier", "four"), ("fuenf", "five"), ("sechs", "six"), ("sieben", "seven"), ("acht", "eight"),
               ("neun", "nine"), ("zehn", "ten"), ("zwanzig", "twenty"), ("dreissig", "thirty"))],
    "fixed": [("TEMPERATUR", ["temperatures"]), ("GRAD", ["degrees"]), ("WIND", ["wind"]),
              ("STEIGEN", ["rise", "go up"]), ("SINKEN", ["fall", "drop"]), ("AUCH", ["also"]),
              ("DANN", ["then", "later"])],
}
EXTENDABLE = ("region", "weather", "time", "number")  # categories that grow with K beyond the base lexicon
MIN_GLOSSES = sum(min(len(v), 3) for k, v in BASE.items() if k != "fixed") + len(BASE["fixed"])


@dataclass
class Lexicon:
    """Glosses by category with their spoken words (one or more variants) and their prototype motions."""

    glosses: list[str]
    category: dict[str, str]
    words: dict[str, list[str]]
    signs: dict[str, Sign]

    def of(self, category: str) -> list[str]:
        return [g for g in self.glosses if self.category[g] == category]


def build_lexicon(n_glosses: int, frames_per_gloss: float, rng: np.random.Generator) -> Lexicon:
    if n_glosses < MIN_GLOSSES:
        raise ValueError(f"data.n_glosses must be >= {MIN_GLOSSES} (the grammar's core), got {n_glosses}")
    chosen = {cat: list(items) for cat, items in BASE.items()}
    base_total = sum(len(v) for v in chosen.values())
    if n_glosses < base_total:  # trim the open categories evenly, keeping at least 3 of each
        while sum(len(v) for v in chosen.values()) > n_glosses:
            cat = max(EXTENDABLE, key=lambda c: len(chosen[c]))
            chosen[cat].pop()
    extra = 0
    while sum(len(v) for v in chosen.values()) < n_glosses:
        cat = EXTENDABLE[extra % len(EXTENDABLE)]
        stem = {"region": "ORT", "weather": "WETTER", "time": "ZEIT", "number": "ZAHL"}[cat]
        word = {"region": "place", "weather": "weather", "time": "time", "number": "number"}[cat]
        chosen[cat].append((f"{stem}{extra}", [f"{'in ' if cat == 'time' else ''}{word}{extra}"]))
        extra += 1
    glosses, category, words = [], {}, {}
    for cat, items in chosen.items():
        for gloss, variants in items:
            glosses.append(gloss)
            category[gloss] = cat
            words[gloss] = variants
    signs = {g: random_sign(rng, frames_per_gloss) for g in glosses}
    return Lexicon(glosses, category, words, signs)


def _word(lex: Lexicon, gloss: str, rng: np.random.Generator) -> str:
    variants = lex.words[gloss]
    return variants[int(rng.integers(len(variants)))]


def sample_clause(lex: Lexicon, rng: np.random.Generator) -> tuple[list[str], str]:
    """One clause: (glosses in signing order, spoken text in spoken order)."""
    pick = lambda cat: lex.of(cat)[int(rng.integers(len(lex.of(cat))))]  # noqa: E731
    kind = rng.choice(["weather", "weather", "temperature", "wind", "trend"])
    time = pick("time") if rng.random() < 0.5 else None
    pre = [time] if time else []
    say_time = _word(lex, time, rng) + " " if time else ""
    if kind == "weather":
        region, weather = pick("region"), pick("weather")
        inten = pick("intensity") if rng.random() < 0.5 else None
        glosses = pre + [region, weather] + ([inten] if inten else [])
        adj = _word(lex, inten, rng) + " " if inten else ""
        return glosses, f"{say_time}{adj}{_word(lex, weather, rng)} in {_word(lex, region, rng)}"
    if kind == "temperature":
        number = pick("number")
        region = pick("region") if rng.random() < 0.5 else None
        glosses = pre + ["TEMPERATUR", number, "GRAD"] + ([region] if region else [])
        where = f" in {_word(lex, region, rng)}" if region else ""
        return glosses, f"{say_time}temperatures of {_word(lex, number, rng)} degrees{where}"
    if kind == "wind":
        region, inten = pick("region"), pick("intensity")
        glosses = pre + ["WIND", inten, region]
        return glosses, f"{say_time}{_word(lex, inten, rng)} wind from {_word(lex, region, rng)}"
    trend = "STEIGEN" if rng.random() < 0.5 else "SINKEN"
    glosses = ["TEMPERATUR", trend] + pre
    return glosses, f"{say_time}temperatures {_word(lex, trend, rng)}"


def sample_sentence(lex: Lexicon, rng: np.random.Generator, min_glosses: int, max_glosses: int,
                    max_tries: int = 200) -> tuple[list[str], str]:
    """1-3 clauses (joined by DANN / AUCH) with min_glosses <= length <= max_glosses."""
    for _ in range(max_tries):
        glosses, texts = [], []
        for c in range(int(rng.integers(1, 4))):
            g, t = sample_clause(lex, rng)
            if c:
                link = "DANN" if rng.random() < 0.5 else "AUCH"
                g = [link] + g
                t = f"{_word(lex, link, rng)} {t}"
            glosses += g
            texts.append(t)
        if min_glosses <= len(glosses) <= max_glosses:
            joiner = " and " if rng.random() < 0.3 else " , "
            return glosses, joiner.join(texts) + " ."
    raise ValueError(f"the grammar cannot make sentences of {min_glosses}-{max_glosses} glosses")


# --------------------------------------------------------------------------------- generator


@dataclass
class SyntheticConfig:
    """Sizes and variability of the synthetic sign language (the PHOENIX14T-like defaults are the full preset's)."""

    n_glosses: int = param(40, ge=MIN_GLOSSES, doc="gloss vocabulary size K (PHOENIX14T: 1085)")
    n_train: int = param(360, ge=2, doc="training sentences (PHOENIX14T: 7096)")
    n_dev: int = param(20, ge=1, doc="dev sentences (PHOENIX14T: 519)")
    n_test: int = param(80, ge=2, doc="test sentences (PHOENIX14T: 642)")
    n_signers: int = param(9, ge=1, doc="signers (PHOENIX14T: 9)")
    min_glosses: int = param(2, ge=1, doc="fewest glosses in a sentence")
    max_glosses: int = param(6, ge=2, doc="most glosses in a sentence (PHOENIX14T: up to 30)")
    frames_per_gloss: float = param(6.0, ge=3, doc="typical frames per gloss (PHOENIX14T: ~16)")
    duration_jitter: float = param(0.15, ge=0, lt=0.5, doc="random factor on every sign's duration: 1 +- this")
    warp: float = param(0.2, ge=0, doc="std of log(gamma) of the time warp u -> u^gamma inside a sign")
    coarticulation: int = param(3, ge=0, doc="frames over which a sign blends from the previous sign's last pose")
    angle_noise: float = param(0.01, ge=0, doc="std of Gaussian noise on the joint angles, radians")
    decimals: int = param(5, ge=2, le=8, doc="decimal places of the stored values (PT text files)")
    seed: int = param(1234, doc="seed of the lexicon, signers and sentences (independent of the run seed)")

    def __post_init__(self) -> None:
        if self.min_glosses > self.max_glosses:
            raise ValueError(f"data.min_glosses ({self.min_glosses}) must be <= data.max_glosses "
                             f"({self.max_glosses})")


@dataclass
class SignLanguage:
    """The generator: a lexicon and signers; `render` draws one sentence's frames and alignment."""

    cfg: SyntheticConfig
    lexicon: Lexicon = field(init=False)
    signers: list[Signer] = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.cfg.seed)
        self.lexicon = build_lexicon(self.cfg.n_glosses, self.cfg.frames_per_gloss, rng)
        self.signers = [random_signer(i, rng) for i in range(self.cfg.n_signers)]

    def render(self, glosses: list[str], signer: Signer, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Frames (T, 151) (joints then counter, rounded to cfg.decimals) and the gloss index of every frame."""
        c = self.cfg
        prev = signer.apply(rest_q()[None])[0]
        qs, align = [], []
        for i, gloss in enumerate(glosses):
            sign = self.lexicon.signs[gloss]
            n = max(3, round(sign.frames * signer.tempo * rng.uniform(1 - c.duration_jitter, 1 + c.duration_jitter)))
            gamma = float(np.exp(rng.normal(0, c.warp)))
            q = signer.apply(sign.trajectory((np.arange(n) / (n - 1)) ** gamma))
            blend = min(c.coarticulation, n // 2)
            if blend:
                ramp = smoothstep((np.arange(blend) + 1) / (blend + 1))[:, None]
                q[:blend] += (1 - ramp) * (prev - q[0])
            prev = q[-1]
            qs.append(q)
            align.append(np.full(n, i))
        q = np.concatenate(qs)
        q = q + rng.normal(0, c.angle_noise, q.shape)
        joints = forward_kinematics(q_to_angles(q), signer.scale).reshape(len(q), N_VALUES)
        frames = np.concatenate([joints, counter(len(q))[:, None]], axis=1)
        return np.round(frames, c.decimals).astype(np.float32), np.concatenate(align)

    def corpus(self) -> SignCorpus:
        """Train/dev/test splits, every signer in every split (PHOENIX14T is signer-dependent)."""
        c = self.cfg
        rng = np.random.default_rng(c.seed + 1)
        splits: dict[str, list[SignSequence]] = {}
        for split, n in zip(SPLITS, (c.n_train, c.n_dev, c.n_test), strict=True):
            seqs = []
            for k in range(n):
                signer = self.signers[int(rng.integers(len(self.signers)))]
                glosses, text = sample_sentence(self.lexicon, rng, c.min_glosses, c.max_glosses)
                frames, align = self.render(glosses, signer, rng)
                seqs.append(SignSequence(f"{split}/{k:05d}_{signer.name}", glosses, text, frames, align))
            splits[split] = seqs
        return SignCorpus(splits, list(self.lexicon.glosses), "synthetic")
