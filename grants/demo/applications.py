"""More demo dossiers on the open calls: drafts being written and dossiers just submitted, with the
whole project section filled in (objectives, public, places) and a balanced Cerfa budget, so that the
applicants' section pages and the managers' lists of a call have several true-to-life rows.

Same rules as grants.demo.seed: found by their title within the call (idempotent), at most one active
dossier per association and call, amounts within each call's range and share of the total cost."""

from __future__ import annotations

from grants.demo.content import REVIEWER_1, REVIEWER_2

MORE_APPLICATIONS = [
    # --- Solidaires Ici Solidaires Ailleurs (1 500 € – 15 000 €, half the cost at most)
    {"call": "SISA", "applicant": "bassin-minier", "by": "thomas.lemaire@jeunes-bassin-minier.example.org",
     "story": "submitted", "days": -10, "title": "Savoir-faire miniers partagés entre Lens et Itabira",
     "summary": "Des anciens mineurs du bassin lensois et des techniciens d'Itabira échangent sur la "
                "reconversion des sites miniers et la prévention des risques.",
     "objectives": "Deux missions croisées ; un guide bilingue de reconversion des terrils ; trois conférences "
                   "publiques dans le bassin minier.",
     "target_public": "Associations d'anciens mineurs, élus locaux, étudiants en génie civil.",
     "places": "Lens, Liévin, Itabira (Minas Gerais)", "partner_region": "Minas Gerais",
     "total": 26000, "asked": 12000, "beneficiaries": 340,
     "co_funders": [("Communauté d'agglomération de Lens-Liévin", 4000), ("Département du Pas-de-Calais", 3000)]},
    {"call": "SISA", "applicant": "valenciennois", "by": "julien.mercier@consomacteurs.example.org",
     "story": "draft", "days": -1, "title": "Filière de jus de bissap équitable avec Saint-Louis",
     "summary": "Structurer avec un groupement de productrices de Saint-Louis une filière de bissap vendue "
                "dans les épiceries solidaires du Valenciennois.",
     "objectives": "Former 30 productrices à la transformation ; vendre 4 000 bouteilles la première année.",
     "target_public": "Productrices du delta du fleuve Sénégal ; consommateurs du Valenciennois.",
     "places": "Saint-Louis (Sénégal), Valenciennes", "partner_region": "Saint-Louis",
     "total": 15000, "asked": 7000, "co_funders": [("Valenciennes Métropole", 2500)]},
    # --- FIPCE (2 000 € – 25 000 €, half the cost at most, co-funded with ADEME)
    {"call": "FIPCE", "applicant": "audomarois", "by": "sophie.delattre@terres-echanges.example.org",
     "story": "submitted", "days": -8, "title": "Groupement d'achat en circuit court de l'Audomarois",
     "summary": "Un groupement d'achat mensuel qui relie quarante familles aux maraîchers des marais "
                "audomarois.",
     "objectives": "Quarante familles adhérentes ; dix producteurs à moins de 30 km ; un atelier cuisine par mois.",
     "target_public": "Familles des quartiers de Saint-Omer et d'Arques, dont des bénéficiaires de l'aide alimentaire.",
     "places": "Saint-Omer, Arques", "total": 18000, "asked": 8000, "beneficiaries": 160,
     "co_funders": [("Ville de Saint-Omer", 2000), ("ADEME", 3000)]},
    {"call": "FIPCE", "applicant": "roubaix", "by": "claire.dumont@roubaix-nord-sud.example.org",
     "story": "submitted", "days": -4, "title": "Repair café et atelier vélo du quartier de l'Épeule",
     "summary": "Deux samedis par mois, des bénévoles réparent avec les habitants petit électroménager et vélos.",
     "objectives": "600 objets réparés par an ; 15 bénévoles formés ; un atelier vélo ouvert aux collégiens.",
     "target_public": "Habitants du quartier de l'Épeule, collégiens.",
     "places": "Roubaix", "total": 12500, "asked": 6000, "beneficiaries": 450,
     "co_funders": [("Ville de Roubaix", 1500)]},
    {"call": "FIPCE", "applicant": "provinces", "by": "karim.boukhris@mq-provinces.example.org",
     "story": "draft", "days": -1, "title": "École de consommateurs des Provinces",
     "summary": "Des ateliers budget, énergie et alimentation à la maison de quartier, avec la CAF.",
     "target_public": "Familles du quartier des Provinces.",
     "places": "Arras", "total": 9000, "asked": 4000, "co_funders": [("Caisse d'allocations familiales", 1500)]},
    # --- Nos Quartiers d'Été (1 000 € – 10 000 €, 70 % of the cost at most)
    {"call": "NQE", "applicant": "fives", "by": "amelie.vandamme@jardins-fives.example.org",
     "story": "submitted", "days": -3, "title": "Guinguette des jardins de Fives",
     "summary": "Huit soirées d'été dans les jardins partagés : concerts, repas partagés, ateliers pour enfants.",
     "objectives": "Huit soirées ; 1 200 participants ; un comité d'habitants qui prépare l'été suivant.",
     "target_public": "Familles et jeunes du quartier de Fives.",
     "places": "Lille-Fives, jardins de la rue Pierre Legrand", "total": 9500, "asked": 6000,
     "beneficiaries": 1200, "co_funders": [("Ville de Lille", 2000)]},
    {"call": "NQE", "applicant": "bassin-minier", "by": "thomas.lemaire@jeunes-bassin-minier.example.org",
     "story": "submitted", "days": -2, "title": "Tournoi de street-football des cités minières",
     "summary": "Un tournoi itinérant dans cinq cités minières, organisé par un collectif de jeunes.",
     "objectives": "Cinq étapes ; 40 équipes mixtes ; des jeunes formés à l'arbitrage et à l'organisation.",
     "target_public": "Jeunes de 12 à 20 ans des cités minières de Lens et Liévin.",
     "places": "Lens, Liévin, Loos-en-Gohelle", "total": 7000, "asked": 4500, "beneficiaries": 400,
     "co_funders": [("Ville de Lens", 1000)]},
    {"call": "NQE", "applicant": "roubaix", "by": "yacine.haddad@roubaix-nord-sud.example.org",
     "story": "draft", "days": -1, "title": "Cinéma en plein air au parc Barbieux",
     "summary": "Quatre projections gratuites, précédées de courts-métrages tournés par les jeunes du quartier.",
     "places": "Roubaix", "total": 8000, "asked": 5000},
    # --- The flagship SISA grant, decided early (a rolling decision on screening, before the call closes): its convention
    # signed online and countersigned, its advance paid (grants.demo.conventions). Listed last so that the
    # ids of the dossiers above stay as they were.
    {"call": "SISA", "applicant": "provinces", "by": "karim.boukhris@mq-provinces.example.org",
     "story": "awarded", "days": -40, "title": "Cantines scolaires solidaires Arras – Kayes",
     "summary": "Équiper deux cantines scolaires du cercle de Kayes et jumeler leurs écoles avec trois écoles d'Arras.",
     "partner_region": "Kayes", "total": 26000, "asked": 13000, "beneficiaries": 900,
     "co_funders": [("Ville d'Arras", 3000)],
     "reviews": {REVIEWER_1: {"due": -20, "scores": [5, 4, 4, 5, 4], "opinion": "fund",
                              "comment": "Partenariat ancien et solide ; volet éducatif ici bien construit."},
                 REVIEWER_2: {"due": -20, "scores": [4, 4, 5, 4, 4], "opinion": "fund",
                              "comment": "Budget clair ; comités de parents impliqués des deux côtés."}},
     "decided": -12, "awarded": 13000,
     "decision_reason": "Commission permanente : subvention de 13 000 € en fonctionnement."},
    # --- Awards at the later stages of a grant's life (grants.demo.final_reports): a DCP project ended
    # long ago whose final report never came (overdue; the association has no bank details, nothing was
    # paid), a FIPCE grant closed on its report (every euro spent, the balance paid), an NQE grant whose
    # report awaits the manager's review.
    {"call": "DCP", "applicant": "fives", "by": "amelie.vandamme@jardins-fives.example.org",
     "story": "awarded", "days": -90, "starts": -900, "ends": -600,
     "title": "Semences partagées entre Fives et Saint-Louis",
     "summary": "Des jeunes jardiniers de Fives et de Saint-Louis échangent semences, savoir-faire et vidéos.",
     "objectives": "Deux chantiers de jeunes ; une grainothèque partagée ; une restitution au lycée de Fives.",
     "target_public": "Jeunes de 15 à 20 ans des jardins partagés et d'un lycée agricole de Saint-Louis.",
     "places": "Lille-Fives, Saint-Louis (Sénégal)", "partner_region": "Saint-Louis",
     "total": 5000, "asked": 3500, "beneficiaries": 30, "young_people": 18,
     "co_funders": [("Ville de Lille", 1000)],
     "reviews": {REVIEWER_1: {"due": -75, "scores": [4, 4, 4, 4, 3], "opinion": "fund",
                              "comment": "Échange réciproque, jeunes associés à chaque étape."},
                 REVIEWER_2: {"due": -75, "scores": [4, 3, 4, 4, 3], "opinion": "fund",
                              "comment": "Projet modeste et bien calibré."}},
     "decided": -20, "awarded": 3500,
     "decision_reason": "Commission permanente : subvention de 3 500 € en fonctionnement."},
    {"call": "FIPCE", "applicant": "bassin-minier", "by": "thomas.lemaire@jeunes-bassin-minier.example.org",
     "story": "awarded", "days": -17, "title": "Ressourcerie solidaire des cités minières",
     "summary": "Une ressourcerie tenue par des jeunes en service civique collecte, répare et revend meubles "
                "et vêtements à petit prix.",
     "objectives": "30 tonnes détournées des déchetteries ; une boutique ouverte trois jours par semaine.",
     "target_public": "Habitants des cités minières de Lens et Liévin.",
     "places": "Lens, Liévin", "total": 14000, "asked": 6000, "beneficiaries": 700,
     "co_funders": [("Ville de Liévin", 2000)],
     "reviews": {REVIEWER_1: {"due": -8, "scores": [4, 4, 5, 4, 3], "opinion": "fund",
                              "comment": "Projet ancré dans les cités, modèle économique crédible."},
                 REVIEWER_2: {"due": -8, "scores": [4, 3, 4, 4, 4], "opinion": "fund",
                              "comment": "Bons partenariats avec les bailleurs sociaux."}},
     "decided": -7, "awarded": 6000,
     "decision_reason": "Décision au fil de l'eau : subvention de 6 000 € en fonctionnement."},
    {"call": "NQE", "applicant": "valenciennois", "by": "julien.mercier@consomacteurs.example.org",
     "story": "awarded", "days": -9, "title": "Marchés d'été des producteurs au quartier Chasse Royale",
     "summary": "Quatre marchés du soir avec les producteurs locaux, une cuisine partagée et des jeux pour "
                "les enfants.",
     "objectives": "Quatre marchés ; 800 visiteurs ; dix producteurs à moins de 40 km.",
     "target_public": "Familles du quartier Chasse Royale.",
     "places": "Valenciennes", "total": 6000, "asked": 4000, "beneficiaries": 800,
     "co_funders": [("Ville de Valenciennes", 1000)],
     "reviews": {REVIEWER_1: {"due": -3, "scores": [4, 4, 4, 4, 3], "opinion": "fund",
                              "comment": "Animation simple et utile, bien ancrée dans le quartier."},
                 REVIEWER_2: {"due": -3, "scores": [5, 4, 4, 3, 3], "opinion": "fund",
                              "comment": "Les habitants sont associés à la préparation."}},
     "decided": -1, "awarded": 4000,
     "decision_reason": "Décision au fil de l'eau : subvention de 4 000 € en fonctionnement."},
]


def seed_applications(seed) -> None:
    """Add the dossiers above through the seed's own builder (idempotent by title within the call)."""
    for spec in MORE_APPLICATIONS:
        seed.application(spec)
