"""Invented entities and values that the haystack tasks plant (at least 40 of each entity kind).

None of them occurs in the offline corpora's text, so a planted fact is the only place a name or value appears.
"""

from __future__ import annotations

import random

_SURNAMES = (
    "Halvorsen", "Lindqvist", "Okafor", "Brennerfeld", "Ravensworth", "Achterberg", "Quillfeather", "Marchetti",
    "Oyelaran", "Kowalczyk", "Szabados", "Nakagawa", "Fairweather", "Castellanos", "Thornbury", "Abernathy",
    "Vukovic", "Eriksdottir", "Okonkwo", "Pemberton", "Weatherby", "Zielinski", "Harcourt", "Ashdown",
    "Blackwood", "Carrow", "Dunmore", "Ellery", "Fenwick", "Hartigan", "Ingleby", "Jessop", "Kilbride",
    "Lockhart", "Merriweather", "Northcott", "Oakhurst", "Penhallow", "Quenby", "Selwyn", "Tregarthen",
    "Umfreville", "Varga", "Whitlock", "Yardley", "Zamora", "Rowland", "Amundsen-Bell", "Mwangi", "Petrakis",
)  # fmt: skip
_FIRST_NAMES = (
    "Nadia", "Tobias", "Ingrid", "Mateo", "Priya", "Oskar", "Leonie", "Rafael", "Yusuf", "Greta", "Anselm",
    "Beatrix", "Cormac", "Dagny", "Emeric", "Fenna", "Gideon", "Hester", "Idris", "Jolanda", "Kasimir", "Linnea",
    "Magnus", "Noor", "Orla", "Piet", "Quentin", "Rosalind", "Soren", "Thea", "Ulrich", "Vesna", "Wendell",
    "Xanthe", "Yara", "Zoltan", "Amara", "Bruno", "Celeste", "Dmitri", "Elodie", "Florian", "Marguerite",
)  # fmt: skip
_PLACE_NAMES = (
    "Larkspur", "Quillmoor", "Ashgrove", "Brackenridge", "Coldharbour", "Dunmarsh", "Elderbrook", "Fallowmere",
    "Hollowell", "Juniper Hollow", "Kestrel Point", "Lowmoor", "Marrowdale", "Nettlefield", "Oxbow Reach",
    "Pennycress", "Quarrington", "Rookwood", "Saltmarsh", "Thistlewood", "Underhill", "Vetchworth", "Willowmere",
    "Yarrowby", "Zephyr Cove", "Amberleigh", "Bramblecombe", "Candlewick", "Drummondale", "Emberfold",
    "Foxhollow", "Gorsemoor", "Heathwick", "Inkwell Bay", "Jasperdale", "Kingsholt", "Lanternfield", "Millbrook",
    "Northwold", "Cendra", "Brightwater", "Corrowmere",
)  # fmt: skip
_PLACE_KINDS = (
    "station", "depot", "lighthouse", "boathouse", "mill", "chapel", "warehouse", "market hall", "pier",
    "signal box", "ferry terminal", "post office", "bus shelter", "train yard", "harbour office",
)  # fmt: skip
_OBJECTS = (
    "vault", "archive", "greenhouse", "observatory", "boathouse", "lighthouse", "chapel", "warehouse", "workshop",
    "gallery", "cellar", "granary", "foundry", "laboratory", "stable", "pavilion", "conservatory", "armoury",
    "bunker", "hangar", "brewery", "distillery", "tannery", "apiary", "aviary", "orchard", "vineyard", "quarry",
    "shipyard", "sawmill", "forge", "studio", "clinic", "museum", "theatre", "bathhouse", "tower", "cottage",
    "lodge", "manor", "villa", "gatehouse", "pumphouse", "icehouse",
)  # fmt: skip
_PET_NAMES = (
    "Biscuit", "Pepperpot", "Marlowe", "Tansy", "Rufus", "Clementine", "Bramble", "Waffles", "Noodle", "Pippin",
    "Saffron", "Bosco", "Truffle", "Dumpling", "Cobbler", "Nutmeg", "Sprocket", "Pickle", "Barnaby", "Crumpet",
    "Fennel", "Gizmo", "Inky", "Jellybean", "Kipper", "Lentil", "Muffin", "Paprika", "Quince", "Rascal", "Sorrel",
    "Tater", "Velvet", "Whiskers", "Yoyo", "Zucchini", "Acorn", "Cinder", "Dottie", "Ember", "Figaro", "Mochi",
)  # fmt: skip
_CODE_FIRST = (
    "onyx", "amber", "cobalt", "violet", "scarlet", "ivory", "jade", "copper", "silver", "golden", "indigo",
    "crimson", "azure", "opal", "ruby", "topaz", "garnet", "saffron", "ochre", "teal", "umber", "pearl", "sable",
    "coral", "bronze", "cedar", "maple", "birch", "willow", "frost", "ember", "storm", "misty", "quiet", "hollow",
    "silent", "rapid", "lunar", "solar", "polar", "velvet", "granite",
)  # fmt: skip
_CODE_SECOND = (
    "falcon", "otter", "heron", "badger", "lynx", "raven", "marten", "osprey", "walrus", "gecko", "ibis", "jackal",
    "kestrel", "lemur", "magpie", "newt", "ocelot", "puffin", "quail", "salmon", "tapir", "viper", "wombat", "yak",
    "zebra", "bison", "crane", "dingo", "egret", "ferret", "gibbon", "hyena", "impala", "koala", "llama", "moose",
    "narwhal", "oriole", "panda", "rook", "stoat", "toucan",
)  # fmt: skip
_ATTRIBUTES = ("access code", "alarm code", "gate code", "door code", "entry code", "security code")
_BACKUP_KINDS = ("backup codes", "emergency codes", "spare passwords", "recovery codes")
_COLOURS = ("blue", "green", "yellow", "crimson", "turquoise", "orange", "violet", "white", "black", "grey")
_FIGURES = ("heron", "hare", "owl", "frog", "tortoise", "fox", "elephant", "swan", "rooster", "pelican")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_INSTRUMENTS = ("bass clarinet", "hurdy-gurdy", "theorbo", "contrabassoon", "glockenspiel", "harmonium", "oboe")
_VENUES = (
    "the old tram depot", "the disused brewery", "the former glassworks", "the covered market hall",
    "the abandoned rope factory", "the riverside boatyard", "the old sugar refinery",
)  # fmt: skip
_FOODS = ("hazelnuts", "shellfish", "sesame seeds", "buckwheat", "kiwi fruit", "strawberries", "celery", "lupin")
_JOBS = (
    "lighthouse keeper", "telegraph operator", "bookbinder", "river pilot", "glassblower", "clockmaker",
    "cartographer", "typesetter",
)  # fmt: skip
_DRAWINGS = ("lighthouse", "paper boat", "crescent moon", "sleeping fox", "teapot", "windmill", "kite")
_DISASTERS = ("rockslide", "flash flood", "gas leak", "mudslide", "lightning strike", "chemical spill")


def _code(rng: random.Random) -> str:
    """Draw a code of the form word-word-4digits, e.g. ``onyx-falcon-5179``."""
    return f"{rng.choice(_CODE_FIRST)}-{rng.choice(_CODE_SECOND)}-{rng.randint(1000, 9999)}"


def _draw_slots(rng: random.Random) -> dict[str, str]:
    """Draw one value for every template slot; people, places and colours are pairwise distinct."""
    surnames = rng.sample(_SURNAMES, 4)
    firsts = rng.sample(_FIRST_NAMES, 3)
    places = rng.sample(_PLACE_NAMES, 3)
    colours = rng.sample(_COLOURS, 2)
    return {
        "S": surnames[0],
        "P": f"{firsts[0]} {surnames[1]}",
        "P2": f"{firsts[1]} {surnames[2]}",
        "P3": f"{firsts[2]} {surnames[3]}",
        "T": places[0],
        "T2": places[1],
        "place": f"{places[2]} {rng.choice(_PLACE_KINDS)}",
        "pet": rng.choice(_PET_NAMES),
        "prof": f"Professor {surnames[0]}",
        "captain": f"Captain {surnames[0]}",
        "isla": f"Isla {places[0]}",
        "code": _code(rng),
        "num": f"{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "color": colours[0],
        "color2": colours[1],
        "figure": rng.choice(_FIGURES),
        "day": rng.choice(_DAYS),
        "time": f"{rng.randint(5, 9)}:{rng.choice(('05', '15', '25', '35', '45', '55'))}",
        "clock": f"{rng.randint(4, 9)}:{rng.choice(('10', '20', '40', '50'))} pm",
        "instrument": rng.choice(_INSTRUMENTS),
        "venue": rng.choice(_VENUES),
        "food": rng.choice(_FOODS),
        "job": rng.choice(_JOBS),
        "price": f"{rng.randint(3, 19)} crowns",
        "drawing": rng.choice(_DRAWINGS),
        "disaster": rng.choice(_DISASTERS),
    }
