"""A fixed catalogue of believable topics, with the words, hashtags and caption templates of each.

Captions are built from per-topic templates whose slots are filled from per-topic word lists, so all
captions of one topic share a vocabulary (a text encoder clusters them) while no two read the same.
The catalogue is fixed on purpose: tests, demos and benchmarks name topics ("cooking") and rely on
the same spelling everywhere.

Templates and slot values are written as "a|b|c" strings to keep the catalogue readable; `{n}` slots are numbers.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic: what its posts talk about and how their captions are phrased."""

    name: str
    hashtags: tuple[str, ...]
    templates: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    # Template fields, parsed once so caption filling does no parsing per post.
    _fields: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = []
        for template in self.templates:
            names = tuple(f for _, f, _, _ in string.Formatter().parse(template) if f)
            missing = [n for n in names if n not in self.slots]
            if missing:
                raise ValueError(f"topic {self.name}: template {template!r} uses unknown slots {missing}")
            parsed.append(names)
        object.__setattr__(self, "_fields", tuple(parsed))

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word this topic's captions can contain (lower-cased), for tests and diagnostics."""
        words: set[str] = set(self.hashtags)
        for values in self.slots.values():
            for value in values:
                words.update(value.lower().replace(",", " ").split())
        return frozenset(words)

    def caption(self, u: np.ndarray) -> tuple[str, list[str]]:
        """A caption and 2-4 hashtags, chosen by the uniform draws in `u` (at least 8 values in [0, 1)).

        The caller pre-draws `u` for all posts in one numpy call; this keeps generation vectorised in
        its randomness and deterministic for a seed.
        """
        t = int(u[0] * len(self.templates))
        names = self._fields[t]
        values = {}
        for i, name in enumerate(names):
            options = self.slots[name]
            values[name] = options[int(u[1 + (i % 4)] * len(options))]
        text = self.templates[t].format(**values)
        n_tags = 2 + int(u[5] * 3)
        start = int(u[6] * len(self.hashtags))
        tags = [self.hashtags[(start + k * 3) % len(self.hashtags)] for k in range(n_tags)]
        tags = list(dict.fromkeys(tags))
        return text, tags


def _t(name: str, hashtags: str, templates: str, **slots: str) -> Topic:
    return Topic(
        name=name,
        hashtags=tuple(hashtags.split("|")),
        templates=tuple(templates.split("|")),
        slots={k: tuple(v.split("|")) for k, v in slots.items()},
    )


_CATALOGUE: list[Topic] = [
    _t(
        "cooking",
        "recipe|cooking|foodie|dinner|easyrecipes|homecooking|mealprep|food|chef",
        "{n}-minute {adj} {dish} you can make tonight|the {adj} {dish} my grandma swore by|"
        "{dish}, but make it {adj}. Secret: {tip}|one-pan {dish} for busy weeknights|"
        "why your {dish} never tastes like the restaurant's ({tip})|meal prep: {adj} {dish} for the whole week|"
        "I tried the viral {dish} recipe so you don't have to",
        n="10|15|20|30|45",
        dish="garlic butter pasta|chicken tikka masala|smash burgers|sourdough focaccia|beef ramen|shakshuka|"
        "lemon herb salmon|mushroom risotto|tofu stir fry|banana bread|tacos al pastor|pad thai",
        adj="crispy|creamy|spicy|cheesy|smoky|healthy|budget|high-protein",
        tip="salt the pasta water|rest the dough overnight|toast your spices|use cold butter|don't crowd the pan|"
        "finish with lemon",
    ),
    _t(
        "fitness",
        "fitness|workout|gym|fitnessmotivation|strength|homeworkout|gains|training",
        "{n}-minute {workout} you can do at home|how I hit a {lift} PR after {n} weeks of {plan}|"
        "stop doing {lift} like this: {cue}|my {plan} split for beginners, no excuses|"
        "{workout} finisher that leaves your legs shaking|gym myth: {myth}. Here's the truth",
        n="8|10|12|15|20|30",
        workout="HIIT circuit|core burner|full body workout|kettlebell flow|mobility routine|glute workout",
        lift="deadlift|squat|bench press|pull-up|overhead press|hip thrust",
        plan="push pull legs|5x5 strength|upper lower|calisthenics|progressive overload",
        cue="brace your core|keep the bar close|drive through your heels|control the eccentric",
        myth="cardio kills gains|you need protein every 2 hours|lifting makes women bulky|spot reduction works",
    ),
    _t(
        "travel",
        "travel|wanderlust|travelgram|explore|vacation|backpacking|bucketlist|traveltips",
        "{n} days in {place} on a {budget} budget|hidden gem in {place} tourists always miss|"
        "the {adj} {stay} in {place} that cost us almost nothing|{place} travel tip: {tip}|"
        "sunrise over {place} was worth the {n}am alarm|packing list for {place}: carry-on only",
        n="3|4|5|7|10",
        place="Lisbon|Kyoto|Bali|Iceland|the Amalfi Coast|Marrakech|Patagonia|Hanoi|the Swiss Alps|Cape Town",
        budget="backpacker|tiny|mid-range|student",
        adj="cosiest|wildest|most scenic|strangest|cheapest",
        stay="hostel|treehouse|guesthouse|cabin|boutique hotel",
        tip="book trains early|skip the tourist traps|carry cash|go in shoulder season|learn ten words",
    ),
    _t(
        "football",
        "football|soccer|premierleague|goals|matchday|ucl|footballskills|worldcup",
        "{player} {skill} from the {match} is unreal|{club} fans after the {match}|"
        "every {club} goal from last weekend's {match}|how to {skill} like {player}|"
        "{player} vs {club}: the tactical breakdown|sunday league {skill} of the season",
        player="Messi|Haaland|Mbappe|Saka|Bellingham|Salah|Vinicius",
        skill="free kick|nutmeg|bicycle kick|volley|rabona|first touch",
        club="Arsenal|Real Madrid|Liverpool|Barcelona|Bayern|Flamengo|Man City",
        match="derby|Champions League night|cup final|title decider",
    ),
    _t(
        "basketball",
        "basketball|nba|hoops|ballislife|dunk|crossover|streetball|buckets",
        "{player} {move} in the {moment} had the whole arena up|learn the {move} in {n} steps|"
        "{team} bench reaction to that {move}|pickup game {move} you have to see|"
        "{player} {moment} highlights, all buckets|shooting drill: {n} makes from every spot",
        n="3|5|10|25|50",
        player="LeBron|Curry|Wembanyama|Giannis|Luka|Jokic|Tatum",
        move="crossover|step-back three|poster dunk|euro step|chase-down block|alley-oop",
        team="Lakers|Warriors|Celtics|Nuggets|Spurs|Knicks",
        moment="fourth quarter|overtime|playoff game|clutch minutes",
    ),
    _t(
        "gaming",
        "gaming|gamer|twitch|videogames|esports|gameplay|pcgaming|speedrun",
        "{game} {play} that made chat lose it|ranked {game} tips: {tip}|this {game} {play} is illegal|"
        "{n}-hour {game} stream highlights|I beat {game} {challenge}|ranking every {game} boss",
        n="8|12|24",
        game="Elden Ring|Fortnite|Minecraft|Valorant|League of Legends|Zelda|Counter-Strike|Baldur's Gate",
        play="clutch|1v5|speedrun trick|glitch|no-scope|boss fight",
        tip="stop peeking wide|learn one map|watch your minimap|play with sound on",
        challenge="without taking damage|with only a stick|on hardest difficulty|blindfolded",
    ),
    _t(
        "music",
        "music|newmusic|singer|cover|guitar|producer|musician|livemusic",
        "{instrument} cover of {song} in my bedroom|how I produced this {genre} beat in {n} minutes|"
        "{genre} chord progression everyone uses|singing {song} live with {instrument}|"
        "{genre} songs that hit different at 2am|unreleased {genre} track, should I drop it?",
        n="5|10|20|30",
        instrument="acoustic guitar|piano|violin|ukulele|loop pedal|synth",
        song="Bohemian Rhapsody|Blinding Lights|Yesterday|Creep|Dreams|Hallelujah",
        genre="lofi|indie|R&B|house|jazz|hip hop|bossa nova",
    ),
    _t(
        "dance",
        "dance|dancechallenge|choreography|dancer|dancevideo|hiphopdance|kpop|moves",
        "learn the {song} {style} choreography in {n} counts|{style} freestyle at the {place}|"
        "{song} dance challenge, {crew} version|{style} footwork tutorial for beginners|"
        "when the {song} drop hits at the {place}",
        n="8|16|32",
        song="Espresso|Cupid|Super Shy|Calm Down|Water|Levitating",
        style="hip hop|K-pop|salsa|popping|contemporary|krump|shuffle",
        place="studio|subway|wedding|school hallway|festival",
        crew="squad|family|office|grandma",
    ),
    _t(
        "comedy",
        "comedy|funny|memes|skit|relatable|lol|standup|humor",
        "when your {person} says '{line}'|POV: you're the {person} at {place}|{person}s be like: '{line}'|"
        "me pretending I understood the {thing} at {place}|standup bit about {thing} that bombed then killed",
        person="mom|boss|roommate|gym bro|group project partner|barista|landlord",
        line="we have food at home|quick question|per my last email|it's giving|let's circle back",
        place="the family dinner|the office party|the wedding|the Monday meeting|IKEA",
        thing="crypto|the group chat|self-checkout|airport security|adulting",
    ),
    _t(
        "fashion",
        "fashion|ootd|style|streetstyle|outfitideas|thrift|menswear|lookbook",
        "{n} ways to style a {item} this {season}|thrift flip: {adj} {item} for ${n}|"
        "{aesthetic} outfit ideas for {season}|capsule wardrobe: {n} pieces, {aesthetic} vibe|"
        "styling my {adj} {item} with {item2}|{aesthetic} street style in {city}",
        n="3|5|7|10|20",
        item="oversized blazer|linen shirt|baggy jeans|trench coat|leather jacket|slip dress",
        item2="chunky loafers|white sneakers|gold jewelry|a silk scarf|knee boots",
        adj="vintage|minimal|oversized|cropped|thrifted",
        season="fall|summer|winter|spring",
        aesthetic="old money|streetwear|Y2K|quiet luxury|coastal",
        city="Paris|Seoul|Milan|New York|Copenhagen",
    ),
    _t(
        "beauty",
        "beauty|makeup|skincare|glowup|makeuptutorial|skincareroutine|grwm|nails",
        "{adj} {look} makeup in {n} minutes|my {time} skincare routine for {skin} skin|GRWM: {adj} {look} look|"
        "{product} that actually fixed my {skin} skin|dupe alert: {product} under ${n}|{look} nails, {adj} and easy",
        n="5|10|15|20",
        adj="soft glam|no-makeup|dewy|bold|everyday|clean girl",
        look="smokey eye|glass skin|latte|red lip|sunset eyeshadow|chrome",
        time="morning|night|10-step|lazy",
        skin="oily|dry|acne-prone|sensitive|combination",
        product="niacinamide serum|retinol|SPF 50|lip oil|setting spray|ceramide cream",
    ),
    _t(
        "pets",
        "pets|dogsofinstagram|catsofinstagram|puppy|cute|dog|cat|petlovers",
        "my {pet} when I {action}|{adj} {pet} learns to {trick}|rescue {pet} day 1 vs day {n}|"
        "{pet} reacts to {thing} for the first time|training tip: teach your {pet} to {trick}",
        n="30|100|365",
        pet="golden retriever|corgi|tabby cat|husky|french bulldog|kitten|bunny|parrot",
        action="open the treat bag|say the word walk|leave for work|sneeze|come home",
        adj="clumsy|dramatic|sleepy|tiny|very good",
        trick="high five|ring a bell|spin|play dead|fetch the remote",
        thing="snow|a cucumber|the vacuum|a mirror|the beach",
    ),
    _t(
        "diy",
        "diy|homedecor|crafts|woodworking|homeproject|makeover|upcycle|handmade",
        "{n}-dollar {room} makeover|building a {build} from {material}|DIY {build} with just a {tool}|"
        "upcycled {material} into a {adj} {build}|renter-friendly {room} hack: {hack}",
        n="50|100|200|500",
        room="bedroom|kitchen|balcony|bathroom|home office",
        build="floating shelf|coffee table|headboard|plant stand|bookcase|bench",
        material="pallet wood|scrap plywood|old doors|epoxy resin|cardboard",
        tool="jigsaw|drill|staple gun|glue gun|sander",
        adj="rustic|mid-century|boho|minimal",
        hack="peel and stick tiles|command strips|removable wallpaper|tension rods",
    ),
    _t(
        "tech",
        "tech|gadgets|technology|apple|android|coding|ai|setup",
        "{gadget} review after {n} months|{n} {gadget} features nobody talks about|"
        "my {adj} desk setup with {gadget}|{gadget} vs {gadget2}: which should you buy|"
        "I built a {project} with {lang} in a weekend|{lang} tip: {tip}",
        n="3|5|6|10|12",
        gadget="iPhone|Pixel|MacBook|mechanical keyboard|Steam Deck|smart watch|Vision Pro",
        gadget2="Galaxy|ThinkPad|iPad|Kindle|Switch",
        adj="minimal|RGB|cable-free|budget",
        project="chatbot|home server|browser extension|budget app",
        lang="Python|Rust|JavaScript|Go",
        tip="use list comprehensions|learn the debugger|write the test first|read the error message",
    ),
    _t(
        "science",
        "science|physics|space|biology|chemistry|stem|nasa|learnontiktok",
        "why {phenomenon}, explained in {n} seconds|{experiment} experiment you can try at home|"
        "the {field} fact that broke my brain|what {telescope} just found about {object}|"
        "{field} professor explains {phenomenon}",
        n="30|60|90",
        phenomenon="the sky is blue|black holes evaporate|ice floats|cats always land on their feet|tides happen",
        experiment="elephant toothpaste|non-newtonian fluid|cloud in a bottle|DNA extraction",
        field="physics|biology|chemistry|astronomy|geology",
        telescope="James Webb|Hubble|the Mars rover",
        object="exoplanets|the early universe|Jupiter's moons|neutron stars",
    ),
    _t(
        "cars",
        "cars|carsofinstagram|supercar|jdm|carspotting|automotive|racing|ev",
        "{car} {action} on the {place}|{n} things I hate about my {car}|{car} vs {car2} drag race|"
        "restoring a {adj} {car} in {n} days|{car} exhaust sound at full throttle",
        n="3|5|30|90",
        car="Porsche 911|Supra|Tesla Model 3|Miata|GT-R|Mustang|Civic Type R",
        car2="M3|Corvette|Taycan|WRX",
        action="launch control|cold start|track day|drift",
        place="Nurburgring|mountain pass|autobahn|drag strip",
        adj="barn-find|rusty|abandoned|stock",
    ),
    _t(
        "art",
        "art|artist|drawing|painting|sketchbook|digitalart|watercolor|illustration",
        "{medium} {subject} in {n} minutes|turning a {adj} doodle into a {medium} painting|"
        "{medium} technique for {effect}|sketchbook tour: {n} pages of {subject}|"
        "painting {subject} with only {n} colours",
        n="3|10|20|30|60",
        medium="watercolor|oil|gouache|charcoal|Procreate|acrylic",
        subject="portraits|landscapes|cats|city streets|flowers|hands",
        adj="messy|five-second|childhood|random",
        effect="glowing light|realistic skin|soft clouds|texture",
    ),
    _t(
        "books",
        "books|booktok|bookstagram|reading|bookrecommendations|fantasy|romance|readinglist",
        "{n} {genre} books that ruined me|if you loved {book}, read these {n}|"
        "my {adj} {genre} reading list for {season}|{book} review: the ending ({reaction})|"
        "annotating {book} with me",
        n="3|5|7|10",
        genre="fantasy|romance|thriller|sci-fi|literary fiction|classics",
        book="The Secret History|Fourth Wing|Dune|Normal People|The Hobbit|Project Hail Mary",
        adj="cosy|dark|comfort|unputdownable",
        season="autumn|summer|the holidays",
        reaction="I screamed|I'm still not okay|no spoilers|five stars",
    ),
    _t(
        "gardening",
        "gardening|plants|garden|houseplants|growyourown|plantcare|urbangarden|compost",
        "growing {plant} on a {space} in {n} weeks|{plant} care tips: {tip}|"
        "harvest day: {adj} {plant} from the {space}|propagating {plant} in water|"
        "{n} plants that survive {condition}",
        n="4|6|8|12",
        plant="tomatoes|monstera|basil|strawberries|pothos|chillies|lettuce",
        space="balcony|windowsill|raised bed|allotment|backyard",
        tip="water in the morning|let the soil dry|prune the suckers|feed with compost",
        adj="massive|first ever|organic",
        condition="low light|total neglect|frost|tiny apartments",
    ),
    _t(
        "finance",
        "finance|money|investing|personalfinance|budgeting|stocks|savings|financialfreedom",
        "how I saved ${k} on a {job} salary|{n} {topic} mistakes in your twenties|"
        "{topic} explained like you're five|my {adj} budget: the {rule} rule|"
        "is {asset} a good investment in {year}?",
        n="3|5|7|10",
        k="10k|20k|50k|100k",
        job="teacher|nurse|entry-level|part-time|barista",
        topic="index fund|credit score|compound interest|emergency fund|side hustle",
        adj="monthly|zero-based|no-spend|student",
        rule="50/30/20|pay yourself first|80/20",
        asset="real estate|gold|an index fund|a high-yield savings account",
        year="2025|2026",
    ),
]

TOPICS: dict[str, Topic] = {t.name: t for t in _CATALOGUE}
TOPIC_NAMES: tuple[str, ...] = tuple(TOPICS)


def get_topic(name: str) -> Topic:
    """The topic called `name`; a KeyError lists the valid names so a typo is obvious."""
    try:
        return TOPICS[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; known: {', '.join(TOPIC_NAMES)}") from None


def sample_caption(topic: str, rng: np.random.Generator) -> tuple[str, list[str]]:
    """One caption for `topic`: convenient for tests and one-off posts (bulk generation pre-draws)."""
    return get_topic(topic).caption(rng.random(8))
