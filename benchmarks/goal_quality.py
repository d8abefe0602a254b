"""Goal cascades against plain search, through the served HTTP API, on Flipkart and Myntra.

For each goal phrase (written below from each catalog's own category tree and descriptions, with the
categories that belong to it), one assistant turn in a fresh session and one plain `POST /search` with
the same phrase. Reported per catalog:
- `nonempty_share`: replies that show at least one pin;
- `on_topic_share`: mean over goals of the share of the cascade's pins that lie in a relevant category
  (an empty reply counts 0);
- `plain_search_on_topic_share`: the same for the first page of `POST /search`;
- `goal_recall` / `plain_search_goal_recall`: mean over goals of the share of the goal's products (every pin
  in a relevant category) that the reply shows, cascade and plain search;
- `section_on_topic_share`: share of cascade sections whose pins are mostly relevant;
- `section_diversity`: distinct categories per cascade (mean).

Homes are built with the real CLI (`ingest`, `train align`, `index`, the lite offline model) unless
`--flipkart-home` / `--myntra-home` point at built ones. Usage:

    python benchmarks/goal_quality.py --json goal_quality.json [--myntra-limit 3000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.demo import with_synthetic_prices
from moodboard.cli.homes import build_home
from moodboard.core.settings import load_settings

REPO = Path(__file__).resolve().parents[1]

# Flipkart: category path prefixes (lower case, " › " between levels) that belong to each goal.
FK_BABY = ("baby care",)
FK_KITCHEN = ("kitchen & dining", "home furnishing › kitchen & dining linen")
FK_DECOR = ("home decor & festive needs", "home furnishing")
FK_OFFICE = ("computers", "home decor & festive needs › wall decor & clocks", "kitchen & dining › coffee mugs")
FK_BEAUTY = ("beauty and personal care",)
FK_BED = ("home furnishing › bed linen", "home furnishing › cushions, pillows & covers", "home furnishing")
FK_WATCH = ("watches",)
FLIPKART_GOALS: list[tuple[str, tuple[str, ...]]] = [
    ("a gift for a new baby", FK_BABY),
    ("help me get ready for a newborn", FK_BABY),
    ("everything I need for a baby shower", FK_BABY),
    ("ideas for a baby's first birthday", FK_BABY),
    ("set up a nursery for my baby girl", (*FK_BABY, "home furnishing")),
    ("bath time essentials for a toddler", FK_BABY),
    ("help me plan a contemporary kitchen", FK_KITCHEN),
    ("set up my first kitchen", FK_KITCHEN),
    ("ideas for a kitchen makeover", FK_KITCHEN),
    ("everything for cooking at home", FK_KITCHEN),
    ("a bright kitchen idea with custom character", FK_KITCHEN),
    ("gift ideas for someone who loves to cook", FK_KITCHEN),
    ("help me set up a home office", FK_OFFICE),
    ("upgrade my work from home desk", FK_OFFICE),
    ("ideas for a laptop setup for college", ("computers",)),
    ("everything I need to get my wifi working", ("computers › network components",)),
    ("set up a gaming corner", ("computers",)),
    ("redo my living room", FK_DECOR),
    ("ideas for decorating for diwali", ("home decor & festive needs",)),
    ("help me plan a festive home makeover", FK_DECOR),
    ("a colourful room for kids to get creative", FK_DECOR + FK_BABY),
    (
        "make my walls look beautiful",
        ("home decor & festive needs › wall decor & clocks", "baby care › baby & kids gifts"),
    ),
    ("ideas for a housewarming gift", FK_DECOR + FK_KITCHEN),
    ("set up a prayer corner at home", ("home decor & festive needs",)),
    ("plan a cosy bedroom makeover", FK_BED),
    ("help me refresh my bedroom", FK_BED),
    ("everything for a guest room", FK_BED),
    ("ideas for new curtains and cushions", ("home furnishing",)),
    ("a bathroom refresh", ("home furnishing › bath linen", "baby care › baby bath & skin")),
    ("help me plan a self care routine", FK_BEAUTY),
    ("gift ideas for my sister who loves makeup", FK_BEAUTY),
    ("everything for a spa day at home", FK_BEAUTY),
    ("a grooming kit for my dad", FK_BEAUTY + FK_WATCH),
    ("ideas for a wedding gift", FK_DECOR + FK_KITCHEN + FK_WATCH),
    ("a gift for my husband's birthday", FK_WATCH + FK_BEAUTY + ("computers",)),
    ("help me choose a watch for the office", FK_WATCH),
    ("gift ideas for a teenager", (*FK_WATCH, "computers", *FK_BEAUTY)),
    ("set up a tea party at home", FK_KITCHEN),
    ("ideas for a dinner party", (*FK_KITCHEN, "home decor & festive needs")),
    ("plan a picnic", FK_KITCHEN),
    ("back to school essentials", ("computers", "kitchen & dining › containers & bottles", "watches")),
    ("help me plan a summer trip", FK_BEAUTY + FK_WATCH + ("kitchen & dining › containers & bottles",)),
]

# Myntra: article types (lower case) that belong to each goal.
TOPS = ("tshirts", "shirts", "tops", "kurtas", "kurtis", "tunics", "sweaters", "sweatshirts", "jackets", "blazers")
BOTTOMS = ("jeans", "trousers", "shorts", "skirts", "track pants", "capris", "leggings", "churidar", "salwar")
SHOES = ("casual shoes", "sports shoes", "formal shoes", "heels", "flats", "sandals", "flip flops", "sports sandals")
ACCESS = ("watches", "belts", "sunglasses", "handbags", "wallets", "backpacks", "caps", "ties", "jewellery set",
          "earrings", "necklace and chains", "bracelet", "clutches", "scarves", "stoles")  # fmt: skip
DRESSY = ("dresses", "heels", "clutches", "earrings", "handbags", "tops", "sarees", "kurtas", "jewellery set")
SPORT = ("sports shoes", "track pants", "tshirts", "shorts", "sports sandals", "caps", "backpacks", "sweatshirts",
         "tracksuits", "sports bra")  # fmt: skip
BEAUTY = ("perfume and body mist", "deodorant", "lipstick", "nail polish", "kajal and eyeliner", "face moisturisers",
          "lip gloss", "fragrance gift set", "foundation and primer", "eyeshadow", "highlighter and blush")  # fmt: skip
OUTFIT = TOPS + BOTTOMS + SHOES + ACCESS + ("dresses",)
MYNTRA_GOALS: list[tuple[str, tuple[str, ...]]] = [
    ("help me plan an outfit for a summer party", OUTFIT),
    (
        "what should i wear to a formal dinner",
        (
            "shirts",
            "trousers",
            "formal shoes",
            "ties",
            "blazers",
            "belts",
            "watches",
            "dresses",
            "heels",
            "clutches",
            "suits",
        ),
    ),
    (
        "an outfit for a beach holiday",
        ("shorts", "tshirts", "flip flops", "sandals", "sunglasses", "caps", "dresses", "tops", "swimwear"),
    ),
    ("what do i need for the gym", SPORT),
    ("help me get ready for a morning run", SPORT),
    (
        "plan an outfit for a job interview",
        ("shirts", "trousers", "formal shoes", "ties", "blazers", "belts", "watches", "tops", "heels"),
    ),
    ("ideas for a date night look", (*DRESSY, "shirts", "jeans", "casual shoes", "watches", "perfume and body mist")),
    ("a wedding guest outfit", (*DRESSY, "shirts", "formal shoes", "blazers", "kurtas", "sherwani")),
    (
        "what to wear for a festive celebration",
        (
            "kurtas",
            "kurtis",
            "sarees",
            "salwar",
            "churidar",
            "dupatta",
            "jewellery set",
            "earrings",
            "heels",
            "flats",
            "sandals",
        ),
    ),
    ("gift ideas for my brother", ACCESS + TOPS + BEAUTY),
    ("gift ideas for my girlfriend", ACCESS + BEAUTY + DRESSY),
    ("a gift for my dad's birthday", ACCESS + TOPS + BEAUTY),
    ("help me build a capsule wardrobe", OUTFIT),
    (
        "everything i need for a winter trip",
        (
            "jackets",
            "sweaters",
            "sweatshirts",
            "jeans",
            "casual shoes",
            "caps",
            "scarves",
            "gloves",
            "socks",
            "backpacks",
        ),
    ),
    ("ideas for a rainy day look", ("jackets", "casual shoes", "sandals", "backpacks", "tshirts", "jeans")),
    (
        "set up my office wardrobe",
        (
            "shirts",
            "trousers",
            "formal shoes",
            "ties",
            "belts",
            "watches",
            "tops",
            "heels",
            "flats",
            "handbags",
            "laptop bag",
        ),
    ),
    (
        "a weekend casual look",
        ("tshirts", "jeans", "casual shoes", "shorts", "sunglasses", "caps", "tops", "flats", "sandals", "backpacks"),
    ),
    (
        "help me plan a college outfit",
        ("tshirts", "jeans", "casual shoes", "backpacks", "tops", "shirts", "sweatshirts", "watches", "flats"),
    ),
    ("an outfit for a music festival", OUTFIT),
    (
        "ideas for a kids birthday party outfit",
        ("tshirts", "shirts", "dresses", "shorts", "jeans", "casual shoes", "sandals", "tops", "skirts"),
    ),
    ("everything for a hiking trip", (*SPORT, "backpacks", "jackets", "caps")),
    ("a makeup kit for beginners", BEAUTY),
    ("help me plan a self care day", BEAUTY),
    ("ideas for a new perfume", ("perfume and body mist", "deodorant", "fragrance gift set")),
    ("a complete look for a night out", (*DRESSY, "shirts", "jeans", "casual shoes", "watches")),
    (
        "what should i pack for a business trip",
        (
            "shirts",
            "trousers",
            "formal shoes",
            "ties",
            "belts",
            "watches",
            "backpacks",
            "wallets",
            "laptop bag",
            "trolley bag",
        ),
    ),
    ("upgrade my accessories", ACCESS),
    ("ideas for a smart casual look", ("shirts", "trousers", "casual shoes", "belts", "watches", "tops", "jeans")),
    ("an outfit for a yoga class", (*SPORT, "tops", "leggings")),
    ("help me dress for a cricket match", (*SPORT, "sunglasses", "caps")),
    ("plan a brunch outfit", OUTFIT),
    ("a monsoon essentials kit", ("jackets", "sandals", "flip flops", "backpacks", "casual shoes", "umbrellas")),
    ("gift ideas for a new mom", ACCESS + BEAUTY + ("tops", "kurtas")),
    ("set up a travel kit", ("backpacks", "trolley bag", "duffel bag", "wallets", "sunglasses", "caps", "flip flops")),
    ("ideas for a graduation day look", ("shirts", "trousers", "formal shoes", "dresses", "heels", "watches")),
    ("everything for a pool party", ("shorts", "tshirts", "flip flops", "sunglasses", "caps", "swimwear", "tops")),
    ("a cosy winter look", ("sweaters", "sweatshirts", "jackets", "jeans", "casual shoes", "scarves", "caps")),
    (
        "help me plan a traditional look",
        ("kurtas", "kurtis", "sarees", "salwar", "churidar", "dupatta", "sandals", "flats", "jewellery set"),
    ),
    ("ideas for a sporty look", SPORT),
    ("what should i wear for a long flight", ("tshirts", "track pants", "sweatshirts", "casual shoes", "backpacks")),
]


def _relevant(path_values: tuple[str, ...], prefixes: tuple[str, ...]) -> bool:
    return any(v == pre or v.startswith(pre + " › ") for v in path_values for pre in prefixes)


def evaluate(client: TestClient, goals: list[tuple[str, tuple[str, ...]]], progress: str) -> dict[str, Any]:
    """Run every goal through the assistant and plain search; returns the shares described above."""
    services = client.app.state.services  # type: ignore[attr-defined]
    profile = services.runtime.search.current_index().profile
    store = services.store

    def paths(ids: list[int]) -> dict[int, tuple[str, ...]]:
        return {p.id: profile.values_of("category", p.category) for p in store.get_pins(ids)}

    catalog = {p.id: profile.values_of("category", p.category) for b in store.iter_pins(batch_size=2000) for p in b}
    recall = plain_recall = 0.0

    nonempty = on_topic = plain_on = 0.0
    sec_total = sec_on = 0
    diversity: list[int] = []
    per_goal = []
    start = time.perf_counter()
    for n, (goal, prefixes) in enumerate(goals, 1):
        sid = client.post("/assistant/sessions", json={}).json()["session_id"]
        reply = client.post(f"/assistant/sessions/{sid}/messages", json={"message": goal}).json()
        groups = [s["results"] for s in reply.get("sections", [])] or [reply.get("results", [])]
        ids = [r["pin_id"] for g in groups for r in g]
        by_id = paths(ids)
        share = sum(_relevant(by_id[i], prefixes) for i in ids) / len(ids) if ids else 0.0
        nonempty += bool(ids)
        on_topic += share
        for g in groups if reply.get("sections") else []:
            sec_total += 1
            gi = [r["pin_id"] for r in g]
            sec_on += bool(gi) and sum(_relevant(by_id[i], prefixes) for i in gi) / len(gi) > 0.5
        diversity.append(len({by_id[i][-1] for i in ids if by_id[i]}))
        plain = client.post("/search", json={"text": goal, "k": 24}).json().get("results", [])
        pids = [r["pin_id"] for r in plain]
        pp = paths(pids)
        plain_share = sum(_relevant(pp[i], prefixes) for i in pids) / len(pids) if pids else 0.0
        plain_on += plain_share
        # the share of the goal's products a reply shows (the recall form of the on-topic measure)
        wanted = {i for i, path in catalog.items() if _relevant(path, prefixes)}
        recall += len(wanted & set(ids)) / max(len(wanted), 1)
        plain_recall += len(wanted & set(pids)) / max(len(wanted), 1)
        per_goal.append({"goal": goal, "sections": len(reply.get("sections", [])), "on_topic": round(share, 3),
                         "plain_on_topic": round(plain_share, 3), "plain_results": len(pids)})  # fmt: skip
        print(f"\r{progress}: {n}/{len(goals)} goals ({time.perf_counter() - start:.0f}s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    k = len(goals)
    return {
        "goals": k,
        "nonempty_share": round(nonempty / k, 4),
        "on_topic_share": round(on_topic / k, 4),
        "plain_search_on_topic_share": round(plain_on / k, 4),
        "ratio_vs_plain_search": round((on_topic / k) / max(plain_on / k, 1e-9), 2),
        "goal_recall": round(recall / k, 4),
        "plain_search_goal_recall": round(plain_recall / k, 4),
        "section_on_topic_share": round(sec_on / max(sec_total, 1), 4),
        "section_diversity": round(sum(diversity) / k, 2),
        "per_goal": per_goal,
    }


def _home(arg: str | None, build: Any) -> Path:
    if arg:
        return Path(arg)
    return build(Path(tempfile.mkdtemp(prefix="goal-quality-")))


def main() -> None:
    """Build (or reuse) the two homes, run both goal lists, print and save the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--flipkart-home")
    ap.add_argument("--myntra-home")
    ap.add_argument("--myntra-limit", type=int, default=3000)
    ap.add_argument("--backend", default="lite", help="lite (the real offline model) or fake")
    ap.add_argument("--only", choices=("flipkart", "myntra"), help="run one catalog")
    args = ap.parse_args()
    maps = REPO / "examples" / "catalogs"

    def flipkart(root: Path) -> Path:
        fk = args.data / "flipkart"
        build_home(root / "home", fk / "products.csv", mapping_file=maps / "flipkart.toml",
                   images_root=fk / "images", backend=args.backend, align=args.backend == "lite")  # fmt: skip
        return root / "home"

    def myntra(root: Path) -> Path:
        my = args.data / "myntra"
        mapping = {"id": "id", "title": "productDisplayName", "category": "articleType"}
        priced = with_synthetic_prices(my / "catalog.jsonl", root / "priced.jsonl", mapping, args.myntra_limit)
        build_home(root / "home", priced, mapping_file=maps / "myntra.toml", images_root=my,
                   backend=args.backend, align=args.backend == "lite")  # fmt: skip
        return root / "home"

    out: dict[str, Any] = {"backend": args.backend, "myntra_limit": args.myntra_limit}
    runs = [
        ("flipkart", FLIPKART_GOALS, args.flipkart_home, flipkart),
        ("myntra", MYNTRA_GOALS, args.myntra_home, myntra),
    ]
    for name, goals, given, build in runs:
        if args.only and name != args.only:
            continue
        home = _home(given, build)
        settings = load_settings(home=home, embed={"backend": args.backend},
                                 api={"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000})  # fmt: skip
        with TestClient(create_app(settings)) as client:
            out[name] = evaluate(client, goals, name)
        summary = {k: v for k, v in out[name].items() if k != "per_goal"}
        print(name, json.dumps(summary))
    args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
