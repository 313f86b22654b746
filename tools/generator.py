"""Deterministic synthetic retail data in exactly the shape of spec §1.

`generate_dataset(customers=200, seed=0)` depends only on `random.Random(seed)`: no time, no
set/dict iteration over hashed values, so the same arguments give byte-identical exports.
"""

from __future__ import annotations

import itertools
import random

FIRST_NAMES = (
    "Aarav Amelia Ava Benjamin Chen Daiki Elena Emma Ethan Fatima Grace Harper Isabella Ivan Jamal Juan "
    "Liam Lucas Mason Mei Mia Noah Olivia Omar Priya Raj Sofia Sophia Yara Yusuf Zoe Lena Mateo Anya Kenji "
    "Nora Hugo Ingrid Tariq Chloe"
).split()
LAST_NAMES = (
    "Ahmed Brown Chen Davis Garcia Gonzalez Hernandez Ito Johnson Khan Kim Lee Lopez Martin Moore Muller "
    "Nguyen Patel Rossi Santos Silva Smith Taylor Thomas Wilson Wright Young Moreau Novak Kowalski"
).split()
STREETS = (
    "Main Street|Oak Avenue|Maple Drive|Cedar Lane|Elm Street|Pine Road|Lakeview Drive|Hillcrest Avenue|"
    "River Road|Park Avenue|Sunset Boulevard|Highland Avenue|Washington Street|Willow Lane|Chestnut Street|"
    "Broadway|Spruce Street|Jackson Street|Lincoln Avenue|Mill Road"
).split("|")
CITIES = (
    ("New York", "NY", "100"), ("Los Angeles", "CA", "900"), ("Chicago", "IL", "606"), ("Houston", "TX", "770"),
    ("Phoenix", "AZ", "850"), ("Philadelphia", "PA", "191"), ("San Antonio", "TX", "782"),
    ("San Diego", "CA", "921"), ("Dallas", "TX", "752"), ("Austin", "TX", "787"), ("Seattle", "WA", "981"),
    ("Denver", "CO", "802"), ("Boston", "MA", "021"), ("Portland", "OR", "972"), ("Columbus", "OH", "432"),
    ("Charlotte", "NC", "282"), ("Indianapolis", "IN", "462"), ("Fort Worth", "TX", "761"),
    ("Jacksonville", "FL", "322"), ("San Francisco", "CA", "941"), ("Nashville", "TN", "372"),
    ("Detroit", "MI", "482"), ("Minneapolis", "MN", "554"), ("Tulsa", "OK", "741"),
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

_C = ["black", "white", "blue", "red", "green", "silver", "gray"]
_S = ["S", "M", "L", "XL"]
#: (name, {option: values}, (min price, max price)); option dicts keep their written order.
CATALOG: tuple[tuple[str, dict[str, list[str]], tuple[float, float]], ...] = (
    ("T-Shirt", {"color": _C[:5], "size": _S, "material": ["cotton", "polyester"]}, (15, 40)),
    ("Laptop", {"screen size": ["13-inch", "15-inch", "17-inch"], "processor": ["i5", "i7", "i9"],
                "ram": ["8GB", "16GB", "32GB"], "storage": ["256GB SSD", "512GB SSD", "1TB SSD"]}, (600, 2900)),
    ("Running Shoes", {"size": ["7", "8", "9", "10", "11"], "color": _C[:4], "material": ["mesh", "leather"]},
     (50, 200)),
    ("Water Bottle", {"capacity": ["500ml", "750ml", "1000ml"], "material": ["glass", "plastic", "stainless steel"],
                      "color": _C[:4]}, (10, 60)),
    ("Office Chair", {"material": ["mesh", "leather", "fabric"], "color": _C[:3],
                      "armrest": ["none", "fixed", "adjustable"], "backrest height": ["standard", "high-back"]},
     (120, 550)),
    ("Desk Lamp", {"color": _C[:3], "brightness": ["low", "medium", "high"], "power source": ["USB", "AC adapter"]},
     (20, 160)),
    ("Vacuum Cleaner", {"type": ["robotic", "upright", "canister"], "bagged/bagless": ["bagged", "bagless"],
                        "features": ["pet hair removal", "HEPA filter", "cordless"]}, (90, 800)),
    ("Headphones", {"type": ["on-ear", "over-ear", "in-ear"], "connectivity": ["wired", "wireless"],
                    "color": _C[:4]}, (40, 400)),
    ("Smart Watch", {"color": _C[:4], "band material": ["silicone", "leather", "metal"],
                     "display": ["LCD", "AMOLED"]}, (150, 500)),
    ("Backpack", {"color": _C[:4], "size": ["small", "medium", "large"], "material": ["nylon", "polyester"],
                  "compartment": ["laptop", "hydration", "camera"]}, (30, 250)),
    ("Coffee Maker", {"color": _C[:3], "capacity": ["1 cup", "4 cups", "8 cups", "12 cups"],
                      "type": ["drip", "espresso", "french press"]}, (30, 300)),
    ("Bluetooth Speaker", {"color": _C[:4], "battery life": ["10 hours", "20 hours"],
                           "water resistance": ["yes", "no"]}, (30, 300)),
    ("E-Reader", {"screen size": ["6-inch", "7-inch", "8-inch"], "connectivity": ["Wi-Fi", "Wi-Fi + Cellular"],
                  "storage": ["8GB", "32GB"]}, (80, 350)),
    ("Electric Kettle", {"capacity": ["1L", "1.5L", "2L"], "material": ["plastic", "glass", "stainless steel"],
                         "color": _C[:3]}, (25, 160)),
    ("LED Light Bulb", {"brightness": ["60W equivalent", "75W equivalent", "100W equivalent"],
                        "color temperature": ["warm white", "daylight"], "connectivity": ["none", "Wi-Fi"]},
     (5, 60)),
    ("Yoga Mat", {"thickness": ["4mm", "6mm", "8mm"], "material": ["PVC", "TPE", "natural rubber"],
                  "color": ["blue", "green", "pink", "purple"]}, (20, 120)),
    ("Tablet", {"screen size": ["8-inch", "10-inch", "12-inch"], "storage": ["64GB", "128GB", "256GB"],
                "color": ["black", "silver", "gold"]}, (150, 1100)),
    ("Digital Camera", {"resolution": ["20MP", "24MP", "30MP"], "zoom": ["3x", "5x", "10x"],
                        "storage": ["SD card", "CF card"]}, (250, 2500)),
    ("Action Camera", {"resolution": ["1080p", "4K", "5K"], "waterproof": ["yes", "no"], "color": _C[:3]},
     (150, 550)),
    ("Air Purifier", {"room size": ["small", "medium", "large"], "filter type": ["HEPA", "carbon", "ionic"],
                      "features": ["quiet operation", "smart sensors", "night mode"]}, (80, 600)),
    ("Bicycle", {"frame size": ["small", "medium", "large"], "color": ["red", "blue", "black", "green"],
                 "type": ["road", "mountain", "city"]}, (300, 1900)),
    ("Blender", {"capacity": ["1L", "1.5L", "2L"], "material": ["plastic", "glass", "stainless steel"],
                 "speed settings": ["low", "medium", "high"]}, (30, 260)),
    ("Cycling Helmet", {"size": ["S", "M", "L"], "color": ["black", "white", "red", "blue"],
                        "ventilation": ["low", "medium", "high"]}, (40, 250)),
    ("Desk Fan", {"size": ["small", "medium", "large"], "color": _C[:3], "power source": ["USB", "AC adapter"]},
     (20, 120)),
    ("Dumbbell Set", {"weight range": ["5-25 lbs", "30-50 lbs", "55-75 lbs"],
                      "material": ["iron", "rubber", "urethane"], "set type": ["fixed", "adjustable"]}, (80, 550)),
    ("Espresso Machine", {"pressure": ["9 bar", "15 bar", "19 bar"], "capacity": ["1L", "1.5L", "2L"],
                          "type": ["manual", "automatic", "capsule"]}, (150, 3000)),
    ("Fleece Jacket", {"size": _S, "color": ["black", "navy", "red", "gray"], "zipper": ["full", "half"]},
     (40, 180)),
    ("Garden Hose", {"length": ["25ft", "50ft", "100ft"], "material": ["rubber", "vinyl", "latex"],
                     "color": ["green", "black", "blue"]}, (15, 120)),
    ("Gaming Mouse", {"color": ["black", "white", "RGB"], "sensor type": ["optical", "laser"],
                      "connectivity": ["wired", "wireless"]}, (20, 160)),
    ("Grill", {"type": ["electric", "gas", "charcoal"], "size": ["portable", "medium", "large"],
               "features": ["side burner", "rotisserie", "none"]}, (100, 1100)),
    ("Hiking Boots", {"size": ["7", "8", "9", "10", "11", "12"], "material": ["leather", "synthetic"],
                      "waterproof": ["yes", "no"]}, (80, 300)),
    ("Indoor Security Camera", {"resolution": ["1080p", "2K", "4K"], "field of view": ["110 degrees", "130 degrees"],
                                "connectivity": ["Wi-Fi", "Ethernet"]}, (30, 350)),
    ("Jigsaw Puzzle", {"pieces": ["500", "1000", "1500", "2000"], "theme": ["animals", "art", "landscape"],
                       "difficulty level": ["beginner", "intermediate", "expert"]}, (10, 80)),
    ("Makeup Kit", {"skin tone": ["light", "medium", "dark"], "kit size": ["basic", "professional"],
                    "brand": ["Brand A", "Brand B", "Brand C"]}, (25, 260)),
    ("Mechanical Keyboard", {"switch type": ["linear", "tactile", "clicky"], "backlight": ["none", "white", "RGB"],
                             "size": ["full size", "80%", "60%"]}, (50, 320)),
    ("Notebook", {"size": ["A4", "A5"], "cover type": ["hard cover", "soft cover"]}, (5, 40)),
    ("Patio Umbrella", {"size": ["6 ft", "7 ft", "9 ft"], "color": ["red", "blue", "green", "black"],
                        "material": ["polyester", "olefin", "sunbrella"], "tilt mechanism": ["manual", "auto"]},
     (50, 400)),
    ("Perfume", {"scent family": ["fresh", "oriental", "woody"], "size": ["30ml", "50ml", "100ml"],
                 "gender": ["men", "women", "unisex"]}, (30, 350)),
    ("Pet Bed", {"size": ["small", "medium", "large"], "material": ["memory foam", "polyester", "fleece"],
                 "color": ["brown", "grey", "beige"]}, (25, 220)),
    ("Portable Charger", {"capacity": ["5000mAh", "10000mAh", "20000mAh"], "output": ["USB-A", "USB-C", "Wireless"],
                          "color": ["black", "white", "blue"]}, (20, 120)),
    ("Skateboard", {"deck material": ["maple", "bamboo", "plastic"], "length": ["28 inch", "31 inch", "34 inch"],
                    "design": ["plain", "graphic", "custom"]}, (40, 300)),
    ("Sneakers", {"size": ["6", "7", "8", "9", "10", "11"], "color": ["white", "black", "gray", "red"],
                  "material": ["canvas", "leather", "synthetic"]}, (40, 220)),
    ("Sunglasses", {"frame color": ["black", "brown", "silver"], "lens color": ["black", "brown", "green"],
                    "lens type": ["polarized", "non-polarized"], "frame material": ["plastic", "metal"]},
     (40, 300)),
    ("Tea Kettle", {"material": ["stainless steel", "glass", "ceramic"], "capacity": ["1 liter", "1.5 liters",
                    "2 liters"], "stovetop compatibility": ["gas", "electric", "induction"]}, (20, 150)),
    ("Wall Clock", {"diameter": ["10 inches", "12 inches", "14 inches"], "color": ["black", "white", "wood"],
                    "type": ["analog", "digital"]}, (15, 120)),
    ("Wireless Earbuds", {"color": ["black", "white", "blue"], "battery life": ["4 hours", "6 hours", "8 hours"],
                          "water resistance": ["IPX4", "IPX7", "not resistant"]}, (40, 300)),
    ("Smart Thermostat", {"compatibility": ["Apple HomeKit", "Google Assistant", "Amazon Alexa"],
                          "color": ["black", "white", "stainless steel"]}, (90, 300)),
    ("Luggage Set", {"piece count": ["2-piece", "3-piece", "4-piece"], "color": ["black", "blue", "red", "silver"],
                     "material": ["hardshell", "softshell"]}, (100, 700)),
    ("Bookshelf", {"material": ["wood", "metal", "glass"], "color": ["brown", "white", "black"],
                   "height": ["3 ft", "4 ft", "5 ft", "6 ft"]}, (60, 600)),
    ("Cooking Pot", {"capacity": ["2 quarts", "4 quarts", "6 quarts"], "material": ["stainless steel", "aluminum",
                     "cast iron"], "lid": ["glass", "metal"]}, (20, 200)),
    ("Electric Toothbrush", {"color": ["white", "black", "blue"], "speed settings": ["low", "high"],
                             "battery type": ["rechargeable", "AA batteries"]}, (20, 200)),
    ("Sofa Throw Pillow", {"size": ["16 inch", "18 inch", "20 inch"], "color": ["beige", "gray", "navy", "green"],
                           "fill": ["polyester", "down"]}, (10, 60)),
)

STATUS_WEIGHTS = (("pending", 42), ("processed", 10), ("delivered", 38), ("cancelled", 10))


def _price(rng: random.Random, lo: float, hi: float) -> float:
    return float(round(rng.uniform(lo, hi), 2))


def _products(rng: random.Random, count: int, used_ids: set[str]) -> dict:
    products: dict = {}
    for n in range(count):
        name, dims, (lo, hi) = CATALOG[n % len(CATALOG)]
        if n >= len(CATALOG):
            name = f"{name} {n // len(CATALOG) + 1}"
        pid = _fresh(rng, used_ids, lambda: "".join(rng.choice("0123456789") for _ in range(10)))
        combos = list(itertools.product(*dims.values()))
        k = min(len(combos), rng.randint(4, 16))
        chosen = sorted(rng.sample(range(len(combos)), k))
        variants = {}
        for ci in chosen:
            iid = _fresh(rng, used_ids, lambda: "".join(rng.choice("0123456789") for _ in range(10)))
            variants[iid] = {
                "item_id": iid,
                "options": dict(zip(dims, combos[ci], strict=True)),
                "available": rng.random() >= 1 / 3,
                "price": _price(rng, lo, hi),
            }
        products[pid] = {"name": name, "product_id": pid, "variants": variants}
    return products


def _fresh(rng: random.Random, used: set[str], make) -> str:
    while True:
        v = make()
        if v not in used and not v.startswith("0"):
            used.add(v)
            return v


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _address(rng: random.Random) -> dict:
    city, state, prefix = rng.choice(CITIES)
    return {
        "address1": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
        "address2": rng.choice(["", f"Suite {rng.randint(100, 999)}", f"Apt {rng.randint(1, 99)}"]),
        "city": city,
        "country": "USA",
        "state": state,
        "zip": prefix + _digits(rng, 2),
    }


class _Taken:
    """Everything that must stay unique across a dataset's users: ids, emails, name and zip, payment ids."""

    def __init__(self, data: dict | None = None) -> None:
        self.user_ids: set[str] = set()
        self.emails: set[str] = set()
        self.pm_ids: set[str] = set()
        self.names_zip: set[tuple[str, str, str]] = set()
        self.names: list[tuple[str, str]] = []  # in creation order: a namesake is drawn from them
        self.order_ids: set[str] = set()
        for uid, user in (data or {}).get("users", {}).items():
            first, last = user["name"]["first_name"], user["name"]["last_name"]
            self.user_ids.add(uid)
            self.emails.add(user["email"])
            self.pm_ids.update(user["payment_methods"])
            self.names_zip.add((first, last, user["address"]["zip"]))
            self.names.append((first, last))
        self.order_ids.update((data or {}).get("orders", {}))


def _users(rng: random.Random, count: int, taken: _Taken) -> dict:
    users: dict = {}
    while len(users) < count:
        if taken.names and rng.random() < 0.15:
            first, last = rng.choice(taken.names)  # a namesake with another zip
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        address = _address(rng)
        if (first, last, address["zip"]) in taken.names_zip:
            continue
        uid = f"{first.lower()}_{last.lower()}_{_digits(rng, 4)}"
        if uid in taken.user_ids:
            continue
        email = f"{first.lower()}.{last.lower()}{_digits(rng, 4)}@{rng.choice(EMAIL_DOMAINS)}"
        if email in taken.emails:
            continue
        taken.names_zip.add((first, last, address["zip"]))
        taken.names.append((first, last))
        taken.user_ids.add(uid)
        taken.emails.add(email)
        users[uid] = {"name": {"first_name": first, "last_name": last}, "address": address, "email": email,
                      "payment_methods": _payment_methods(rng, taken.pm_ids), "orders": []}
    return users


def _payment_methods(rng: random.Random, pm_ids: set[str]) -> dict:
    methods: dict = {}
    sources = ["credit_card", "paypal", "gift_card"]
    k = rng.choice([1, 1, 2, 2, 2, 3, 4])
    picks = [rng.choice(sources) for _ in range(k)]
    if picks.count("gift_card") > 1:  # the seed never has two gift cards per user
        picks = [p for p in picks if p != "gift_card"] + ["gift_card"]
    for src in picks:
        mid = _fresh(rng, pm_ids, lambda s=src: f"{s}_{_digits(rng, 7)}")
        if src == "credit_card":
            methods[mid] = {"source": src, "brand": rng.choice(["visa", "mastercard"]),
                            "last_four": _digits(rng, 4), "id": mid}
        elif src == "gift_card":
            methods[mid] = {"source": src, "balance": rng.randint(0, 100), "id": mid}
        else:
            methods[mid] = {"source": src, "id": mid}
    return methods


def _orders(rng: random.Random, count: int, users: dict, catalog: dict, taken: _Taken) -> dict:
    """``count`` orders of ``users`` (appended to each user's list) over ``catalog``."""
    user_ids = list(users)
    product_list = list(catalog.values())
    statuses = [s for s, _ in STATUS_WEIGHTS]
    weights = [w for _, w in STATUS_WEIGHTS]
    all_orders: dict = {}
    for _ in range(count):
        oid = _fresh(rng, taken.order_ids, lambda: "#W" + _digits(rng, 7))
        uid = rng.choice(user_ids)
        user = users[uid]
        items = []
        for _ in range(rng.randint(1, 5)):
            p = rng.choice(product_list)
            v = rng.choice(list(p["variants"].values()))
            items.append({"name": p["name"], "product_id": p["product_id"], "item_id": v["item_id"],
                          "price": v["price"], "options": dict(v["options"])})
        status = rng.choices(statuses, weights)[0]
        fulfillments = []
        if status != "pending":
            fulfillments = [{"tracking_id": [_digits(rng, 12)], "item_ids": [i["item_id"] for i in items]}]
        pm = rng.choice(list(user["payment_methods"]))
        amount = round(sum(i["price"] for i in items), 2)
        history = [{"transaction_type": "payment", "amount": amount, "payment_method_id": pm}]
        if status == "cancelled":
            history.append({"transaction_type": "refund", "amount": amount, "payment_method_id": pm})
        address = dict(user["address"]) if rng.random() < 0.9 else _address(rng)
        all_orders[oid] = {"order_id": oid, "user_id": uid, "address": address, "items": items,
                           "fulfillments": fulfillments, "status": status, "payment_history": history}
        user["orders"].append(oid)
    return all_orders


def generate_dataset(customers: int = 200, seed: int = 0, orders: int | None = None, products: int = 50) -> dict:
    """A consistent dataset: `customers` users, `orders` orders (default ≈2.5 per user), `products` products."""
    if customers < 1 or products < 1:
        raise ValueError("customers and products must be at least 1")
    rng = random.Random(seed)
    catalog = _products(rng, products, set())
    taken = _Taken()
    users = _users(rng, customers, taken)
    n_orders = orders if orders is not None else round(customers * 2.5)
    all_orders = _orders(rng, n_orders, users, catalog, taken)
    return {"users": users, "orders": all_orders, "products": catalog}


def add_customers(data: dict, customers: int, seed: int) -> dict:
    """``data`` plus ``customers`` new users with ≈2.5 orders each over the same catalogue, as a new dataset.

    Nothing of ``data`` changes (its users, orders and products keep their content and order), so whatever names its
    customers and orders still holds; the new ones are unique against it (ids, emails, name and zip).
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    rng = random.Random(f"add_customers:{seed}")
    taken = _Taken(data)
    users = _users(rng, customers, taken)
    new_orders = _orders(rng, round(customers * 2.5), users, data["products"], taken)
    return {"users": {**data["users"], **users}, "orders": {**data["orders"], **new_orders},
            "products": data["products"]}


def demo_dataset() -> dict:
    """The demo store: ``generate_dataset()`` and a second cohort of 200 customers (``add_customers``, seed 1).

    The first 200 customers are what scenarios written against ``generate_dataset()`` name; the second cohort
    gives scenarios written later customers that no earlier scenario uses.
    """
    return add_customers(generate_dataset(), 200, seed=1)
