"""What the demo data says: programmes, calls, associations, applications (read by grants.demo.seed).

Budget figures are those of /work/shared/seeds/nord-pas-de-calais-2012-budget.txt, quoted in the
comment beside each one. How a budget line is split between calls (e.g. SISA / DCP within the 0,860 M€
"appels à projets" line) is the demo's own choice and says so. Associations, people, SIRET and RNA
numbers are invented; every SIRET is generated valid (see ``seed.siret``).
"""

from __future__ import annotations

from decimal import Decimal

from grants.accounts.models import StaffRole
from grants.calls.models import ApplicantKinds, BudgetSection, CallState, FileKind

OPERATING = BudgetSection.OPERATING
INVESTMENT = BudgetSection.INVESTMENT
PDF, IMAGE, OFFICE = FileKind.PDF, FileKind.IMAGE, FileKind.OFFICE

MANAGER_EMAIL = "nadia.benali@region.example.org"
REVIEWER_1 = "hugo.vasseur@region.example.org"
REVIEWER_2 = "elodie.caron@region.example.org"
ADMIN_EMAIL = "sylvie.morel@region.example.org"

STAFF = [
    {"email": MANAGER_EMAIL, "full_name": "Nadia Benali", "role": "chargée de mission",
     "staff_role": StaffRole.MANAGER},
    {"email": REVIEWER_1, "full_name": "Hugo Vasseur", "role": "évaluateur", "staff_role": StaffRole.REVIEWER},
    {"email": REVIEWER_2, "full_name": "Élodie Caron", "role": "évaluatrice", "staff_role": StaffRole.REVIEWER},
    # Opens the audit log (/admin/journal), which managers cannot.
    {"email": ADMIN_EMAIL, "full_name": "Sylvie Morel", "role": "administratrice (journal d'audit)",
     "staff_role": StaffRole.ADMIN},
]

PROGRAMMES = [
    {
        "code": "relations-internationales",
        "name": "Relations internationales",
        "description": "Coopération décentralisée avec huit régions partenaires en Europe, en Afrique et en "
                       "Amérique latine, et ouverture du territoire à l'international.",
        "authorised": {
            OPERATING: Decimal("4076000.00"),  # « Fonctionnement : 4 076 000 euros » (« TOTAL 4,076 M € »)
            INVESTMENT: Decimal("250000.00"),  # « Investissement : 250 000 euros » (« TOTAL 0,250 M € »)
        },
    },
    {
        "code": "partenariats-associatifs",
        "name": "Partenariats associatifs",
        "description": "Innovation sociale et consommation responsable, citoyenneté, développement social "
                       "urbain durable.",
        "authorised": {
            # « Les moyens mobilisés (AEP) » : Citoyenneté 2,400 + Consommation responsable et commerce
            # équitable 0,610 + Développement social urbain durable 5,480 = « 8,490 M € »
            OPERATING: Decimal("8490000.00"),
            # « Les moyens mobilisés par la DAD (AP / AEP) : Développement social urbain durable 2,700 M € »
            INVESTMENT: Decimal("2700000.00"),
        },
    },
]

# « Mali (Kayes), Sénégal (Saint Louis et Matam), Maroc (Doukkala-Abda), Madagascar (Analanjirofo),
# Brésil (Minas Gérais) »
PARTNER_REGIONS = ["Kayes", "Saint-Louis", "Matam", "Doukkala-Abda", "Analanjirofo", "Minas Gerais"]

COOPERATION_CRITERIA = [
    ("Pertinence au regard de l'appel",
     "Le projet répond-il aux objectifs de l'appel et à des besoins établis avec le partenaire ?", "3"),
    ("Qualité du partenariat avec la région partenaire",
     "Partenaire identifié, projet construit ensemble, engagement écrit, réciprocité des échanges.", "3"),
    ("Impact sur les jeunes et le territoire régional",
     "Jeunes mobilisés, actions d'éducation à la solidarité internationale dans le Nord-Pas-de-Calais.", "2"),
    ("Réalisme du budget", "Dépenses justifiées et proportionnées, calendrier tenable.", "1"),
    ("Cofinancements", "Part des autres financeurs et des fonds propres, bénévolat valorisé.", "1"),
]
YOUTH_CRITERIA = [
    ("Pertinence au regard de l'appel",
     "Le projet fait-il des jeunes des acteurs de la solidarité internationale ?", "2"),
    ("Qualité du partenariat avec la région partenaire",
     "Échanges réels avec des jeunes d'une région partenaire, préparés et restitués.", "2"),
    ("Impact sur les jeunes", "Nombre de jeunes, place dans la conception et la conduite du projet.", "3"),
    ("Réalisme du budget", "Dépenses justifiées et proportionnées, calendrier tenable.", "1"),
    ("Cofinancements", "Part des autres financeurs et des fonds propres, bénévolat valorisé.", "1"),
]
TERRITORY_CRITERIA = [
    ("Pertinence au regard de l'appel", "Le projet répond-il aux objectifs du dispositif ?", "3"),
    ("Qualité des partenariats locaux", "Habitants, communes, bailleurs, associations du quartier.", "2"),
    ("Impact sur les habitants et le territoire", "Publics touchés, quartiers prioritaires, durée des effets.", "3"),
    ("Réalisme du budget", "Dépenses justifiées et proportionnées, calendrier tenable.", "1"),
    ("Cofinancements", "Part des autres financeurs et des fonds propres, bénévolat valorisé.", "1"),
]
FRADEP_CRITERIA = [
    ("Pertinence et viabilité du projet", "Le projet est-il réaliste et peut-il durer ?", "3"),
    ("Impact sur le retour à l'emploi du porteur", "Activité créée, compétences acquises, réseau.", "3"),
    ("Ancrage territorial", "Besoin local, partenaires, clients ou usagers identifiés.", "2"),
    ("Réalisme du budget", "Dépenses justifiées et proportionnées.", "1"),
    ("Autres financements", "Apport personnel, prêt d'honneur, autres aides.", "1"),
]

ORGANISATION_DOCUMENTS = [
    ("Statuts de l'association", True, [PDF]),
    ("Relevé d'identité bancaire (RIB)", True, [PDF, IMAGE]),
    ("Comptes approuvés du dernier exercice", True, [PDF, OFFICE]),
    ("Dernier rapport d'activité", False, [PDF]),
]
COOPERATION_DOCUMENTS = ORGANISATION_DOCUMENTS + [
    ("Lettre d'engagement du partenaire", True, [PDF, IMAGE]),
]

COOPERATION_RULES = (
    "- Association loi 1901 déclarée depuis au moins un an, dont le siège est dans la région.\n"
    "- Projet mené avec un partenaire d'une des régions partenaires de la coopération décentralisée.\n"
    "- Une action d'éducation à la solidarité internationale dans la région, avant ou après le projet.\n"
    "- Un seul dossier par association et par appel."
)

CALLS = [
    {
        "key": "SISA", "programme": "relations-internationales",
        "title": "Solidaires Ici Solidaires Ailleurs", "slug": "solidaires-ici-solidaires-ailleurs",
        "summary": "Des projets de solidarité internationale portés par des associations de la région avec "
                   "les régions partenaires de la coopération décentralisée.",
        "description": (
            "## Objectifs\n\n"
            "Soutenir les associations du Nord-Pas-de-Calais qui mènent, avec un partenaire du Sud, des projets "
            "en **éducation, santé, culture, agriculture, formation** ou accès à l'eau, et qui en rendent compte "
            "ici, auprès des habitants.\n\n"
            "## Bilan\n\n"
            "La présentation budgétaire 2012 de la Région fait état de **550 projets** soutenus par cet appel.\n\n"
            "## Calendrier\n\n"
            "1. Dépôt des dossiers jusqu'à la date de clôture (heure de Paris).\n"
            "2. Examen de recevabilité, puis évaluation par deux experts.\n"
            "3. Décision de la commission permanente."
        ),
        "eligibility_rules": COOPERATION_RULES,
        "applicant_kinds": ApplicantKinds.ORGANISATIONS, "legal_forms": ["association", "foundation"],
        "partner_regions": PARTNER_REGIONS,
        "opens": -45, "closes": 3, "state": CallState.OPEN,
        "grant": (1500, 15000), "max_share": "0.5000",
        # « Appels a projets 0,860 M € » (Relations internationales, fonctionnement), shared with DCP:
        # 0,480 M€ here, 0,380 M€ for DCP (the demo's split).
        "envelopes": {OPERATING: Decimal("480000.00")},
        "criteria": COOPERATION_CRITERIA, "documents": COOPERATION_DOCUMENTS,
    },
    {
        "key": "DCP", "programme": "relations-internationales",
        "title": "Devenons Citoyens de la Planète", "slug": "devenons-citoyens-de-la-planete",
        "summary": "Les projets de solidarité internationale conçus et menés par des jeunes de 15 à 25 ans.",
        "description": (
            "## Objectifs\n\n"
            "Faire des jeunes de la région des acteurs de la solidarité internationale : rencontres avec des "
            "jeunes des régions partenaires, actions de sensibilisation dans les lycées et les quartiers.\n\n"
            "La présentation budgétaire 2012 cite **5 000 jeunes** et **400 projets**."
        ),
        "eligibility_rules": (
            "- Associations (dont juniors associations) et lycées de la région.\n"
            "- Des jeunes de 15 à 25 ans à l'initiative du projet et à sa conduite.\n"
            "- Une restitution publique dans la région."
        ),
        "applicant_kinds": ApplicantKinds.ORGANISATIONS, "legal_forms": ["association", "school"],
        "partner_regions": PARTNER_REGIONS,
        "opens": -100, "closes": -21, "state": CallState.CLOSED,
        "grant": (500, 5000), "max_share": "0.8000",
        "envelopes": {OPERATING: Decimal("380000.00")},  # the rest of the 0,860 M€ « Appels a projets » line
        "criteria": YOUTH_CRITERIA, "documents": ORGANISATION_DOCUMENTS,
        "asks_young_people_count": True,  # the programme reports the young people reached (5 000 in 2012)
    },
    {
        "key": "FIPCE", "programme": "partenariats-associatifs",
        "title": "Fonds d'Initiatives pour une Consommation Engagée (FIPCE)", "slug": "fipce",
        "summary": "Des initiatives pour une consommation responsable : écoles de consommateurs, circuits "
                   "courts, commerce équitable, réemploi.",
        "description": (
            "## Objectifs\n\n"
            "Accompagner les habitants vers une consommation plus sobre et plus juste. Le fonds est "
            "**cofinancé avec l'ADEME** ; il s'appuie sur le réseau des **53 écoles de consommateurs** de la "
            "région.\n\n"
            "## Exemples de projets\n\n"
            "- ateliers budget, énergie et alimentation dans une école de consommateurs ;\n"
            "- épicerie en vrac ou groupement d'achat en circuit court ;\n"
            "- actions de commerce équitable avec un établissement scolaire."
        ),
        "eligibility_rules": "- Associations et coopératives (SCOP, SCIC) de la région.\n"
                             "- Un projet local, ouvert à tous les habitants.",
        "applicant_kinds": ApplicantKinds.ORGANISATIONS, "legal_forms": ["association", "cooperative"],
        "opens": -20, "closes": 24, "state": CallState.OPEN,
        "grant": (2000, 25000), "max_share": "0.5000",
        # « Consommation responsable et commerce équitable 0,610 M € », shared with the FRADEP:
        # 0,250 M€ here, 0,300 M€ for the FRADEP (the demo's split), 0,060 M€ left free.
        "envelopes": {OPERATING: Decimal("250000.00")},
        # « Fonds d'Initiatives pour une Consommation Engagée (FIPCE) cofinancé avec l'Ademe » (the shares
        # are the demo's).
        "funders": [("Région", "0.6000"), ("ADEME", "0.4000")],
        "criteria": TERRITORY_CRITERIA, "documents": ORGANISATION_DOCUMENTS,
    },
    {
        "key": "FRADEP", "programme": "partenariats-associatifs",
        "title": "Fonds Régional d'Aide aux projets des Demandeurs d'Emploi (FRADEP)", "slug": "fradep",
        "summary": "Une aide aux demandeurs d'emploi qui portent un projet d'utilité sociale dans la région.",
        "description": (
            "## Pour qui ?\n\n"
            "Les **personnes** inscrites comme demandeurs d'emploi, qui créent une activité d'utilité sociale "
            "ou un projet associatif. La demande est faite **à titre individuel**, sans association.\n\n"
            "## Accompagnement\n\n"
            "Chaque porteur retenu est suivi pendant un an par une structure d'accompagnement."
        ),
        "eligibility_rules": "- Être inscrit(e) à France Travail à la date du dépôt.\n"
                             "- Résider dans la région.\n- Une seule aide par personne.",
        "applicant_kinds": ApplicantKinds.INDIVIDUALS,
        "opens": -30, "closes": 10, "state": CallState.OPEN,
        "grant": (1000, 6000), "max_share": "0.8000",
        "envelopes": {OPERATING: Decimal("300000.00")},  # from the 0,610 M€ line (see FIPCE)
        "criteria": FRADEP_CRITERIA,
        "documents": [
            ("Pièce d'identité", True, [PDF, IMAGE]),
            ("Attestation d'inscription à France Travail", True, [PDF]),
            ("Relevé d'identité bancaire (RIB)", True, [PDF, IMAGE]),
            ("Curriculum vitae", False, [PDF, OFFICE]),
        ],
    },
    {
        "key": "FITA", "programme": "partenariats-associatifs",
        "title": "Fonds d'Initiatives des Territoires et des Acteurs (FITA)", "slug": "fita",
        "summary": "Les initiatives des habitants et des associations des quartiers : gestion urbaine de "
                   "proximité, petits travaux, participation des habitants.",
        "description": (
            "## Objectifs\n\n"
            "Le FITA finance les projets qui améliorent la vie quotidienne des quartiers : **gestion urbaine de "
            "proximité**, petits travaux d'aménagement, **participation des habitants**. Les dépenses "
            "d'investissement (matériel, aménagements) sont éligibles."
        ),
        "eligibility_rules": "- Associations et coopératives implantées dans un quartier prioritaire.\n"
                             "- Des habitants associés à la conception du projet.",
        "applicant_kinds": ApplicantKinds.ORGANISATIONS, "legal_forms": ["association", "cooperative"],
        "opens": 12, "closes": 75, "state": CallState.SCHEDULED,
        "grant": (3000, 40000), "max_share": "0.5000",
        "envelopes": {
            OPERATING: Decimal("400000.00"),  # from « Développement social urbain durable 5,480 M € » (AEP)
            INVESTMENT: Decimal("300000.00"),  # from « Développement social urbain durable 2,700 M € » (AP)
        },
        "criteria": TERRITORY_CRITERIA, "documents": ORGANISATION_DOCUMENTS,
    },
    {
        "key": "NQE", "programme": "partenariats-associatifs",
        "title": "Nos Quartiers d'Été", "slug": "nos-quartiers-d-ete",
        "summary": "Des animations en juillet et en août, préparées avec les habitants des quartiers.",
        "description": (
            "## Objectifs\n\n"
            "Faire de l'été un temps de rencontre dans les quartiers : cinéma en plein air, sport, fêtes, "
            "sorties familiales. Les habitants, et d'abord les **jeunes**, préparent les animations avec "
            "l'association."
        ),
        "eligibility_rules": "- Associations de la région.\n- Animations gratuites et ouvertes à tous.",
        "applicant_kinds": ApplicantKinds.ORGANISATIONS, "legal_forms": ["association"],
        "opens": -10, "closes": 40, "state": CallState.OPEN,
        "grant": (1000, 10000), "max_share": "0.7000",
        # from « Développement social urbain durable 5,480 M € » (« Nos Quartiers d'été »)
        "envelopes": {OPERATING: Decimal("600000.00")},
        "criteria": TERRITORY_CRITERIA, "documents": ORGANISATION_DOCUMENTS,
    },
]

ORGANISATIONS = [
    {"key": "roubaix", "name": "Roubaix Nord-Sud Solidarités", "siren": "78451236", "rna": "W595004512",
     "street": "27 rue de l'Épeule", "postal_code": "59100", "city": "Roubaix",
     "email": "contact@roubaix-nord-sud.example.org", "phone": "03 20 45 12 36",
     "rib": ("42559", "10000", "08012345614"), "bic": "CCOPFRPP",
     "members": [("claire.dumont@roubaix-nord-sud.example.org", "Claire Dumont"),
                 ("yacine.haddad@roubaix-nord-sud.example.org", "Yacine Haddad")]},
    {"key": "bassin-minier", "name": "Jeunes Citoyens du Bassin Minier", "siren": "81234567",
     "rna": "W624001873", "street": "5 place Jean Jaurès", "postal_code": "62300", "city": "Lens",
     "email": "bonjour@jeunes-bassin-minier.example.org", "phone": "03 21 28 40 11",
     "rib": ("16706", "05021", "54193286700"), "bic": "AGRIFRPP867",
     "members": [("thomas.lemaire@jeunes-bassin-minier.example.org", "Thomas Lemaire")]},
    # No telephone: shows the "profil incomplet" notice on its members' home page. "rib": bank, branch
    # and account of the bank details (the seed computes the RIB key and the IBAN); Fives has none yet.
    {"key": "audomarois", "name": "Terres d'Échanges Audomarois", "siren": "52398741", "rna": "W626000931",
     "street": "14 rue de Dunkerque", "postal_code": "62500", "city": "Saint-Omer",
     "email": "contact@terres-echanges.example.org", "phone": None,
     "rib": ("20041", "01005", "0512378K022"), "bic": "PSSTFRPPLIL",
     "members": [("sophie.delattre@terres-echanges.example.org", "Sophie Delattre")]},
    {"key": "valenciennois", "name": "Consom'Acteurs du Valenciennois", "siren": "84012365",
     "rna": "W596003318", "street": "9 avenue de Liège", "postal_code": "59300", "city": "Valenciennes",
     "email": "contact@consomacteurs.example.org", "phone": "03 27 46 90 12",
     "rib": ("16275", "00400", "08123456789"), "bic": "CEPAFRPP627",
     "members": [("julien.mercier@consomacteurs.example.org", "Julien Mercier")]},
    {"key": "fives", "name": "Les Jardins Partagés de Fives", "siren": "79563214", "rna": "W595021764",
     "street": "112 rue Pierre Legrand", "postal_code": "59800", "city": "Lille",
     "email": "jardins@jardins-fives.example.org", "phone": "03 20 52 77 03",
     "members": [("amelie.vandamme@jardins-fives.example.org", "Amélie Vandamme")]},
    {"key": "provinces", "name": "Maison de Quartier des Provinces", "siren": "83145698", "rna": "W622005419",
     "street": "2 rue du Limousin", "postal_code": "62000", "city": "Arras",
     "email": "accueil@mq-provinces.example.org", "phone": "03 21 07 33 50",
     "rib": ("30027", "17150", "00020417801"), "bic": "CMCIFRPP",
     "members": [("karim.boukhris@mq-provinces.example.org", "Karim Boukhris")]},
]

INDIVIDUALS = [
    {"key": "camille", "email": "camille.lefebvre@example.org", "full_name": "Camille Lefebvre",
     "role": "porteuse individuelle (FRADEP)", "address": "8 rue du Jeu de Paume, 59140 Dunkerque",
     "rib": ("15629", "02710", "00041937245")},
]

# ``days``: submission day relative to today (the day the draft was last worked on, for drafts).
# Listed in submission order within each call, so references follow the order of arrival.
APPLICATIONS = [
    # --- SISA, open: a withdrawal, a request for corrections, a dossier awaiting screening, a draft
    {"call": "SISA", "applicant": "roubaix", "by": "yacine.haddad@roubaix-nord-sud.example.org",
     "story": "withdrawn", "days": -20, "title": "Formation d'animateurs de santé communautaire à Matam",
     "summary": "Former vingt animateurs de santé dans cinq villages du département de Matam.",
     "partner_region": "Matam", "total": 12000, "asked": 6000, "beneficiaries": 20},
    {"call": "SISA", "applicant": "fives", "by": "amelie.vandamme@jardins-fives.example.org",
     "story": "corrections_requested", "days": -15, "title": "Jardins scolaires à Saint-Louis",
     "summary": "Créer trois jardins pédagogiques dans des écoles de Saint-Louis, jumelées avec des écoles de Fives.",
     "partner_region": "Saint-Louis", "total": 18000, "asked": 9000, "co_funders": [("Ville de Lille", 3000)],
     "beneficiaries": 450,
     "correction": "Merci de joindre la lettre d'engagement de votre partenaire sénégalais et de détailler "
                   "les frais de mission (nombre de voyages, durée, coût unitaire)."},
    {"call": "SISA", "applicant": "roubaix", "by": "claire.dumont@roubaix-nord-sud.example.org",
     "story": "submitted", "days": -6, "title": "Accès à l'eau potable dans trois villages du cercle de Kayes",
     "summary": "Réhabiliter trois forages et former des comités de gestion de l'eau, avec la région de Kayes.",
     "partner_region": "Kayes", "total": 30000, "asked": 15000,
     "co_funders": [("Agence de l'eau Artois-Picardie", 8000), ("Ville de Roubaix", 2000)], "beneficiaries": 2400},
    {"call": "SISA", "applicant": "audomarois", "by": "sophie.delattre@terres-echanges.example.org",
     "story": "draft", "days": -4, "title": "Maraîchage partagé dans la province d'El Jadida",
     "summary": "Un périmètre maraîcher géré par une coopérative de femmes, avec la région Doukkala-Abda.",
     "partner_region": "Doukkala-Abda", "total": 24000, "asked": 10000,
     "co_funders": [("Ville de Saint-Omer", 2000)]},
    # --- DCP, closed: decided (awarded, rejected, waitlisted), ineligible, under review
    {"call": "DCP", "applicant": "audomarois", "by": "sophie.delattre@terres-echanges.example.org",
     "story": "awarded", "days": -30, "title": "Jeunes reporters de la solidarité Saint-Omer – El Jadida",
     "summary": "Douze lycéens réalisent un reportage sur un projet agricole avec des jeunes marocains.",
     "partner_region": "Doukkala-Abda", "total": 5500, "asked": 4000, "beneficiaries": 12, "young_people": 12,
     "co_funders": [("Communauté d'agglomération du Pays de Saint-Omer", 500)],
     "reviews": {REVIEWER_1: {"due": -8, "scores": [5, 4, 5, 4, 3], "opinion": "fund",
                              "comment": "Projet solide, jeunes réellement à la manœuvre."},
                 REVIEWER_2: {"due": -8, "scores": [4, 4, 5, 3, 3], "opinion": "fund",
                              "comment": "Restitution bien pensée ; budget serré mais réaliste."}},
     "decided": -3, "awarded": 4000,
     "decision_reason": "Commission permanente : subvention de 4 000 € en fonctionnement."},
    {"call": "DCP", "applicant": "valenciennois", "by": "julien.mercier@consomacteurs.example.org",
     "story": "rejected", "days": -28, "title": "Festival jeunesse et commerce équitable",
     "summary": "Un festival d'une journée sur le commerce équitable, organisé par des jeunes.",
     "total": 6000, "asked": 4800, "beneficiaries": 300, "young_people": 25,
     "reviews": {REVIEWER_1: {"due": -8, "scores": [2, 1, 2, 3, 2], "opinion": "do_not_fund",
                              "comment": "Aucun échange avec une région partenaire."},
                 REVIEWER_2: {"due": -8, "scores": [2, 2, 1, 3, 2], "opinion": "do_not_fund",
                              "comment": "Relève plutôt du FIPCE."}},
     "decided": -3,
     "decision_reason": "Le projet ne comporte pas d'échange avec une région partenaire : il relève d'un "
                        "autre dispositif (FIPCE)."},
    {"call": "DCP", "applicant": "provinces", "by": "karim.boukhris@mq-provinces.example.org",
     "story": "ineligible", "days": -26, "title": "Chantier de jeunes à Analanjirofo",
     "summary": "Un chantier de trois semaines pour rénover une école, avec huit jeunes d'Arras.",
     "partner_region": "Analanjirofo", "total": 8000, "asked": 5000, "young_people": 8,
     "co_funders": [("Ville d'Arras", 1500)],
     "reason": "Les jeunes ne sont pas à l'initiative du projet et aucune restitution dans la région n'est "
               "prévue (règlement, conditions 2 et 3)."},
    {"call": "DCP", "applicant": "roubaix", "by": "claire.dumont@roubaix-nord-sud.example.org",
     "story": "waitlisted", "days": -25, "title": "Web-radio des jeunes Roubaix – Kayes",
     "summary": "Une émission mensuelle préparée par des jeunes de Roubaix et de Kayes.",
     "partner_region": "Kayes", "total": 4000, "asked": 3000, "beneficiaries": 16, "young_people": 16,
     "reviews": {REVIEWER_1: {"due": -8, "scores": [4, 3, 3, 3, 2], "opinion": "fund_lower", "suggested": 2500,
                              "comment": "Intéressant ; le matériel pourrait être mutualisé."},
                 REVIEWER_2: {"due": -8, "scores": [3, 3, 4, 3, 3], "opinion": "fund",
                              "comment": "Bonne dynamique entre les deux groupes."}},
     "decided": -3,
     "decision_reason": "Liste d'attente : financé si des crédits se libèrent sur l'enveloppe."},
    {"call": "DCP", "applicant": "bassin-minier", "by": "thomas.lemaire@jeunes-bassin-minier.example.org",
     "story": "under_review", "days": -24, "title": "Échanges lycéens Lens – Minas Gerais",
     "summary": "Deux classes de Lens et d'Itabira comparent la reconversion de leurs bassins miniers.",
     "partner_region": "Minas Gerais", "total": 6000, "asked": 4500, "beneficiaries": 56, "young_people": 56,
     "co_funders": [("Communauté d'agglomération de Lens-Liévin", 800)],
     # One review in progress, one not started and overdue.
     "reviews": {REVIEWER_1: {"due": 5, "scores": [4, 3], "comment": "À compléter après l'entretien."},
                 REVIEWER_2: {"due": -2}}},
    # --- FIPCE, open
    {"call": "FIPCE", "applicant": "valenciennois", "by": "julien.mercier@consomacteurs.example.org",
     "story": "submitted", "days": -5, "title": "École de consommateurs itinérante du Valenciennois",
     "summary": "Un camion-atelier qui tient des permanences budget et énergie dans huit communes.",
     "total": 40000, "asked": 18000, "co_funders": [("Valenciennes Métropole", 6000)], "beneficiaries": 900},
    {"call": "FIPCE", "applicant": "fives", "by": "amelie.vandamme@jardins-fives.example.org",
     "story": "draft", "days": -2, "title": "Épicerie vrac et circuits courts à Fives",
     "summary": "Une épicerie associative en vrac approvisionnée par des maraîchers de la métropole.",
     "total": 22000, "asked": 11000, "co_funders": [("Ville de Lille", 4000)]},
    # --- FRADEP, open, an individual applicant
    {"call": "FRADEP", "applicant": "camille", "by": "camille.lefebvre@example.org",
     "story": "submitted", "days": -7, "title": "Une recyclerie de jouets à Dunkerque",
     "summary": "Collecter, réparer et revendre à petit prix des jouets, en créant mon emploi.",
     "total": 7500, "asked": 5000, "co_funders": [("Communauté urbaine de Dunkerque", 1000)]},
    # --- Nos Quartiers d'Été, open
    {"call": "NQE", "applicant": "provinces", "by": "karim.boukhris@mq-provinces.example.org",
     "story": "draft", "days": -1, "title": "Un été aux Provinces : cinéma en plein air et tournois sportifs",
     "summary": "Six soirées de cinéma et quatre tournois préparés avec le conseil des jeunes du quartier.",
     "total": 12000, "asked": 8000, "co_funders": [("Ville d'Arras", 2000)], "beneficiaries": 1500},
]
