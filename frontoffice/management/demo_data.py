"""Fixed word lists for ``manage.py seed_demo``: staff, teams, campaigns, companies, people.

Plain data only (no randomness, no database), so the command module stays about the steps.
Names are invented; domains of companies are under made-up names, staff mail under `.example`.
"""

from __future__ import annotations

from accounts import roles
from accounts.models import Account, JourneyStage, Team

STAFF_MAIL_DOMAIN = "frontoffice.example"

# username, role, given name, family name
STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("admin", roles.ADMIN, "Kenichi", "Mori"),
    ("manager1", roles.MANAGER, "Takashi", "Yamada"),
    ("manager2", roles.MANAGER, "Naomi", "Okada"),
    ("manager3", roles.MANAGER, "Laura", "Bennett"),
    ("manager4", roles.MANAGER, "Satoshi", "Fujii"),
    ("rep1", roles.SALES_REP, "Hiroshi", "Tanaka"),
    ("rep2", roles.SALES_REP, "Yuki", "Sato"),
    ("rep3", roles.SALES_REP, "Daniel", "Walker"),
    ("rep4", roles.SALES_REP, "Kenta", "Ishikawa"),
    ("rep5", roles.SALES_REP, "Misaki", "Nakamura"),
    ("rep6", roles.SALES_REP, "Shota", "Kobayashi"),
    ("rep7", roles.SALES_REP, "Ayumi", "Hashimoto"),
    ("rep8", roles.SALES_REP, "Ryo", "Matsumoto"),
    ("agent1", roles.SUPPORT_AGENT, "Haruka", "Suzuki"),
    ("agent2", roles.SUPPORT_AGENT, "Emily", "Clarke"),
    ("agent3", roles.SUPPORT_AGENT, "Takuya", "Ito"),
    ("agent4", roles.SUPPORT_AGENT, "Mai", "Kimura"),
    ("agent5", roles.SUPPORT_AGENT, "Naoki", "Watanabe"),
    ("agent6", roles.SUPPORT_AGENT, "Kazuya", "Endo"),
    ("agent7", roles.SUPPORT_AGENT, "Tomoko", "Kato"),
    ("agent8", roles.SUPPORT_AGENT, "Yusuke", "Shimizu"),
    ("marketer1", roles.MARKETER, "Sakura", "Aoki"),
    ("marketer2", roles.MARKETER, "Olivia", "Hughes"),
    ("marketer3", roles.MARKETER, "Masato", "Ogawa"),
)

# name, kind, supervisor, members (the supervisor is a member too)
TEAMS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Sales East (Tokyo)", Team.Kind.SALES, "manager1", ("rep1", "rep2", "rep3", "rep4")),
    ("Sales West (Osaka)", Team.Kind.SALES, "manager2", ("rep5", "rep6", "rep7", "rep8")),
    ("Customer Support", Team.Kind.SUPPORT, "manager3", ("agent1", "agent2", "agent3", "agent4")),
    ("Technical Support", Team.Kind.SPECIALIST, "agent5", ("agent5", "agent6")),
    ("Billing", Team.Kind.SPECIALIST, "agent7", ("agent7", "agent8")),
    ("Marketing", Team.Kind.MARKETING, "manager4", ("marketer1", "marketer2", "marketer3")),
)
EAST_REPS = ("rep1", "rep2", "rep3", "rep4")
WEST_REPS = ("rep5", "rep6", "rep7", "rep8")
FRONT_LINE_AGENTS = ("agent1", "agent2", "agent3", "agent4")
TECHNICAL_AGENTS = ("agent5", "agent6")
BILLING_AGENTS = ("agent7", "agent8")
MARKETERS = ("marketer1", "marketer2", "marketer3")

# name, kind, days before --today it starts, days it lasts, cost in JPY.
# "{year}" is filled in with the start year.
CAMPAIGNS: tuple[tuple[str, str, int, int, int], ...] = (
    ("Tokyo DX Expo {year}", "exhibition", 330, 3, 4_800_000),
    ("Smart Factory Expo Osaka {year}", "exhibition", 250, 3, 3_600_000),
    ("Nagoya Manufacturing Fair {year}", "exhibition", 190, 2, 2_200_000),
    ("Fukuoka Business Solutions Fair {year}", "exhibition", 120, 2, 1_500_000),
    ("Sapporo IT Forum {year}", "exhibition", 75, 1, 900_000),
    ("Tokyo Customer Experience Summit {year}", "exhibition", 40, 2, 3_900_000),
    ("Webinar: one customer record for sales and support", "seminar", 300, 1, 250_000),
    ("Seminar Osaka: DX for mid-size manufacturers", "seminar", 210, 1, 600_000),
    ("Webinar: cutting first-response time", "seminar", 150, 1, 220_000),
    ("Webinar: KPI dashboards for the front office", "seminar", 60, 1, 240_000),
    ("Corporate website (organic search)", "web", 364, 365, 1_200_000),
    ("Search ads: CRM for manufacturers (H1)", "advertising", 350, 150, 2_700_000),
    ("LinkedIn ads: IT managers in Japan", "advertising", 180, 90, 1_800_000),
    ("Business news site banner ads", "advertising", 100, 60, 1_300_000),
    ("Monthly newsletter", "email", 364, 365, 360_000),
    ("Year-end offer email", "email", 140, 14, 80_000),
    ("Whitepaper: front-office DX guide", "content", 280, 200, 700_000),
    ("Case study e-book: manufacturing", "content", 130, 120, 450_000),
    ("Partner referral programme", "referral", 364, 365, 1_000_000),
    ("Sendai regional roadshow {year}", "exhibition", 20, 1, 0),  # cancelled: no visitors
    ("Tokyo DX Expo {year} (next)", "exhibition", -45, 3, 5_200_000),  # planned
)
CANCELLED_CAMPAIGNS = frozenset({"Sendai regional roadshow {year}"})

# How a first touch through a campaign of each kind looks: kind, channel, summary.
FIRST_TOUCH_BY_CAMPAIGN_KIND: dict[str, tuple[str, str, str]] = {
    "exhibition": ("event_visit", "in_person", "Visited our booth; badge scanned"),
    "seminar": ("event_visit", "web", "Registered for and attended the seminar"),
    "web": ("web_visit", "web", "Found us through organic search"),
    "advertising": ("web_visit", "web", "Clicked an ad and read the product page"),
    "email": ("email", "email", "Opened the newsletter and clicked through"),
    "content": ("content_download", "web", "Downloaded the content (gated form)"),
    "referral": ("meeting", "sales_rep", "Introduced by a partner; first meeting"),
}
# Sources that already give us contact details: the journey starts at "lead".
LEAD_SOURCE_KINDS = ("seminar", "content", "referral")
AWARENESS_SOURCE_KINDS = ("exhibition", "web", "advertising", "email")
SOURCE_KIND_WEIGHTS = {
    "exhibition": 40,
    "web": 20,
    "advertising": 12,
    "email": 6,
    "seminar": 10,
    "content": 8,
    "referral": 4,
}

# The funnel's shape: share of contacts per current stage (percent).
STAGE_WEIGHTS: dict[str, int] = {
    JourneyStage.AWARENESS: 30,
    JourneyStage.LEAD: 24,
    JourneyStage.PROSPECT: 14,
    JourneyStage.CUSTOMER: 14,
    JourneyStage.PROMOTER: 5,
    JourneyStage.DORMANT: 6,
    JourneyStage.LOST: 7,
}

FORWARD_CAUSES: dict[str, tuple[str, ...]] = {
    JourneyStage.LEAD: (
        "requested the product brochure",
        "downloaded the whitepaper",
        "asked for a price list",
    ),
    JourneyStage.PROSPECT: (
        "qualified in a discovery call (budget and timing confirmed)",
        "needs hearing at the customer's site",
    ),
    JourneyStage.CUSTOMER: ("first order received", "contract signed"),
    JourneyStage.PROMOTER: (
        "NPS 9 in the customer survey",
        "agreed to a published case study",
        "referred a peer company",
    ),
}
BACKWARD_CAUSES = (
    "project postponed to the next fiscal year",
    "budget frozen; back to nurturing",
    "champion left the company",
)
LOST_CAUSES = (
    "chose a competitor",
    "no budget this year",
    "went with an in-house system",
    "no response after three follow-ups",
)
DORMANT_CAUSES = ("no activity for six months", "no order or contact since the last renewal")
REACTIVATION_CAUSES = (
    "came back with a new project",
    "new person in charge asked for a proposal",
)

# Activity while a contact is at a stage: kind, channel, who handles it, summary.
STAGE_ACTIVITY: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    JourneyStage.AWARENESS: (
        ("web_visit", "web", "", "Read the pricing page"),
        ("web_visit", "web", "", "Read a customer story"),
    ),
    JourneyStage.LEAD: (
        ("content_download", "web", "", "Downloaded the product comparison sheet"),
        ("web_visit", "web", "", "Watched the product demo video"),
        ("email", "email", "marketer", "Sent the nurturing email series"),
    ),
    JourneyStage.PROSPECT: (
        ("meeting", "in_person", "rep", "Demo at the customer's office"),
        ("call", "phone", "rep", "Follow-up call on requirements"),
        ("email", "email", "rep", "Sent the proposal draft"),
    ),
    JourneyStage.CUSTOMER: (
        ("call", "phone", "agent", "Question about user set-up"),
        ("chat", "chat", "agent", "Asked how to export reports"),
        ("email", "email", "technical", "Investigated an import error"),
        ("email", "email", "billing", "Invoice address changed"),
        ("visit", "in_person", "rep", "Quarterly review visit"),
    ),
    JourneyStage.PROMOTER: (
        ("call", "phone", "agent", "Asked about the new release"),
        ("meeting", "in_person", "rep", "Interview for the case study"),
    ),
}
STAGE_ACTIVITY[JourneyStage.DORMANT] = ()
STAGE_ACTIVITY[JourneyStage.LOST] = ()

# What happens just before a contact reaches a stage: kind, channel, who handles it, summary.
STEP_TRIGGER: dict[str, tuple[str, str, str, str]] = {
    JourneyStage.LEAD: ("form", "web", "", "Filled in the contact form"),
    JourneyStage.PROSPECT: ("call", "phone", "rep", "Discovery call"),
    JourneyStage.CUSTOMER: ("quote", "email", "rep", "Quote sent"),
    JourneyStage.PROMOTER: ("survey", "web", "", "Answered the customer survey (NPS 9)"),
    JourneyStage.LOST: ("call", "phone", "rep", "Decision call: not going ahead"),
}

# Order value in JPY (low, high) per account size; "" = an individual customer.
ORDER_RANGES: dict[str, tuple[int, int]] = {
    "": (50_000, 300_000),
    Account.Size.MICRO: (200_000, 1_000_000),
    Account.Size.SMALL: (500_000, 3_000_000),
    Account.Size.MEDIUM: (1_000_000, 10_000_000),
    Account.Size.LARGE: (3_000_000, 30_000_000),
    Account.Size.ENTERPRISE: (10_000_000, 80_000_000),
}
SIZE_WEIGHTS = {"1-9": 10, "10-49": 30, "50-249": 30, "250-999": 20, "1000+": 10}
# How many contacts a company of each size tends to have, relative to the others.
CONTACTS_PER_SIZE = {"1-9": 1, "10-49": 2, "50-249": 4, "250-999": 7, "1000+": 12}

# region, weight, telephone area codes
REGIONS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("Kanto", 40, ("03", "045", "048", "043")),
    ("Kansai", 20, ("06", "075", "078")),
    ("Chubu", 15, ("052", "054", "076")),
    ("Kyushu", 8, ("092", "096")),
    ("Hokkaido", 5, ("011",)),
    ("Tohoku", 5, ("022",)),
    ("Chugoku", 4, ("082", "086")),
    ("Shikoku", 3, ("089", "087")),
)
EAST_REGIONS = frozenset({"Kanto", "Tohoku", "Hokkaido"})

# Japanese companies: (romaji, kanji) prefix x (romaji, kanji, industry) suffix.
JAPANESE_COMPANY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("Sakura", "桜"), ("Fujimi", "富士見"), ("Yamato", "大和"), ("Hokuto", "北斗"),
    ("Aozora", "青空"), ("Midori", "緑"), ("Tsubasa", "翼"), ("Hikari", "光"),
    ("Minato", "港"), ("Kasumi", "霞"), ("Shinsei", "新星"), ("Kaede", "楓"),
    ("Tachibana", "橘"), ("Wakaba", "若葉"), ("Heiwa", "平和"), ("Daiichi", "第一"),
    ("Chuo", "中央"), ("Kotobuki", "寿"), ("Izumi", "泉"), ("Hoshino", "星野"),
    ("Akatsuki", "暁"), ("Seiryu", "清流"), ("Takumi", "匠"), ("Musashi", "武蔵"),
    ("Naniwa", "浪速"), ("Hinode", "日の出"), ("Kibou", "希望"), ("Asuka", "飛鳥"),
    ("Mirai", "未来"), ("Tokiwa", "常盤"),
)  # fmt: skip
JAPANESE_COMPANY_SUFFIXES: tuple[tuple[str, str, str], ...] = (
    ("Seiki", "精機", "Manufacturing"), ("Denki", "電機", "Electronics"),
    ("Kogyo", "工業", "Manufacturing"), ("Shoji", "商事", "Wholesale"),
    ("Unyu", "運輸", "Logistics"), ("Kensetsu", "建設", "Construction"),
    ("Shokuhin", "食品", "Food & beverage"), ("Yakuhin", "薬品", "Healthcare"),
    ("Tsushin", "通信", "Telecommunications"), ("Fudosan", "不動産", "Real estate"),
    ("System", "システム", "IT & software"), ("Butsuryu", "物流", "Logistics"),
    ("Buhin", "部品", "Automotive"), ("Kagaku", "化学", "Chemicals"),
    ("Insatsu", "印刷", "Printing"), ("Denshi", "電子", "Electronics"),
    ("Energy", "エナジー", "Energy"), ("Shoken", "証券", "Finance"),
    ("Kikai", "機械", "Machinery"), ("Setsubi", "設備", "Facilities"),
)  # fmt: skip
# English-named companies (often Japanese subsidiaries): word x (word, industry).
ENGLISH_COMPANY_WORDS: tuple[str, ...] = (
    "Northwind", "Bluewave", "Summit", "Pacific Rim", "Evergreen", "Silverline", "Brightpath",
    "Crescent", "Harbor", "Keystone", "Lighthouse", "Meridian", "Orbit", "Pinecrest", "Redwood",
    "Sterling", "Trident", "Vertex", "Westbridge", "Zenith",
)  # fmt: skip
ENGLISH_COMPANY_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("Analytics", "IT & software"), ("Software", "IT & software"), ("Logistics", "Logistics"),
    ("Foods", "Food & beverage"), ("Medical", "Healthcare"), ("Robotics", "Manufacturing"),
    ("Energy", "Energy"), ("Consulting", "Professional services"), ("Retail", "Retail"),
    ("Capital", "Finance"), ("Materials", "Manufacturing"), ("Networks", "Telecommunications"),
    ("Biotech", "Healthcare"), ("Motors", "Automotive"), ("Learning", "Education"),
)  # fmt: skip
ENGLISH_COMPANY_FORMS = ("K.K.", "Japan G.K.", "Inc.", "Ltd.")

# People: (romaji, kanji) family and given names; English names.
JAPANESE_FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("Sato", "佐藤"), ("Suzuki", "鈴木"), ("Takahashi", "高橋"), ("Tanaka", "田中"),
    ("Watanabe", "渡辺"), ("Ito", "伊藤"), ("Yamamoto", "山本"), ("Nakamura", "中村"),
    ("Kobayashi", "小林"), ("Kato", "加藤"), ("Yoshida", "吉田"), ("Yamada", "山田"),
    ("Sasaki", "佐々木"), ("Yamaguchi", "山口"), ("Matsumoto", "松本"), ("Inoue", "井上"),
    ("Kimura", "木村"), ("Hayashi", "林"), ("Shimizu", "清水"), ("Saito", "斎藤"),
    ("Mori", "森"), ("Ikeda", "池田"), ("Hashimoto", "橋本"), ("Abe", "阿部"),
    ("Ishikawa", "石川"), ("Ogawa", "小川"), ("Fujita", "藤田"), ("Okada", "岡田"),
    ("Goto", "後藤"), ("Hasegawa", "長谷川"), ("Murakami", "村上"), ("Kondo", "近藤"),
    ("Ishii", "石井"), ("Sakamoto", "坂本"), ("Endo", "遠藤"), ("Aoki", "青木"),
    ("Fujii", "藤井"), ("Nishimura", "西村"), ("Fukuda", "福田"), ("Ota", "太田"),
)  # fmt: skip
JAPANESE_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("Hiroshi", "宏"), ("Takashi", "隆"), ("Kenji", "健二"), ("Daisuke", "大輔"),
    ("Yuki", "由紀"), ("Haruka", "遥"), ("Yui", "結衣"), ("Sakura", "さくら"),
    ("Kenta", "健太"), ("Shota", "翔太"), ("Naoki", "直樹"), ("Ayumi", "亜由美"),
    ("Misaki", "美咲"), ("Kazuya", "和也"), ("Tomoko", "智子"), ("Akiko", "明子"),
    ("Ryo", "亮"), ("Takuya", "拓也"), ("Emi", "恵美"), ("Mai", "舞"),
    ("Satoshi", "聡"), ("Yusuke", "雄介"), ("Megumi", "恵"), ("Nana", "菜々"),
    ("Kaito", "海斗"), ("Riko", "莉子"), ("Sho", "翔"), ("Aya", "彩"),
    ("Masato", "正人"), ("Yoko", "洋子"),
)  # fmt: skip
ENGLISH_GIVEN_NAMES = (
    "James", "Emily", "Michael", "Sarah", "David", "Laura", "Daniel", "Olivia", "Thomas",
    "Sophie", "Robert", "Hannah", "Chris", "Anna", "Mark", "Rachel", "Peter", "Claire", "Paul",
    "Jessica",
)  # fmt: skip
ENGLISH_FAMILY_NAMES = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke", "Evans", "Walker", "Wright",
    "Green", "Baker", "Hall", "Lewis", "Young", "King", "Scott", "Turner", "Hill", "Moore",
    "Cooper",
)  # fmt: skip
TITLES = (
    "Manager", "General Manager", "Section Chief", "Director", "Engineer", "Team Leader",
    "Purchasing Specialist", "IT Administrator", "President", "Staff",
)  # fmt: skip
DEPARTMENTS = (
    "Information Systems", "Purchasing", "Sales", "Marketing", "Production", "General Affairs",
    "Finance", "R&D", "Customer Service", "Quality Assurance",
)  # fmt: skip
# Mailbox providers individual customers use (no company account).
PERSONAL_MAIL_DOMAINS = ("gmail.com", "yahoo.co.jp", "outlook.jp", "icloud.com", "nifty.com")
