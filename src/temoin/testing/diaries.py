"""Sample volunteer notes for tests and the demo, written the way notes are typed on a phone.

They mix every marker style the diary parser must read, a multi-line entry, counts for the
figures extractor and a closing letter to supporters, so one sample exercises the whole sort stage.
The events are invented in the shape of a camp eviction day; only first names appear.
"""

from __future__ import annotations

__all__ = ["ENGLISH_DIARY", "FRENCH_DIARY", "UNDATED_DIARY"]

FRENCH_DIARY = """\
Notes de Camille, Calais

Lundi 24 octobre 2016
7h : hélicoptères au-dessus du camp, on les entend depuis la route.
8h : les CRS sont en place devant le hangar, 40 bus sont alignés rue des Garennes.
vers 9h15 - la file d'attente s'allonge, environ 300 mineurs attendent à part.
10h30 : Youssef nous dit qu'il ne partira pas sans son cousin.
Il a passé la nuit dehors.
On lui donne un thé et une couverture.
midi
Distribution de repas, calme.
14h30 : 1051 personnes sont parties en bus depuis ce matin.
vers 16h les premières cabanes sont démontées.
23:00 les associations quittent le site.
01:00 encore des fumées au nord du camp.

Chers amis,
merci pour vos messages et vos dons. Tout ce que nous avons filmé sera trié, mis en ligne et publié.
Continuez à partager !
Camille et Léa
"""

ENGLISH_DIARY = """\
Monday 24 October 2016
7:00 helicopters over the camp
8:00 the riot police are in place by the warehouse
Noon - food distribution, long queue
14h30: 1051 people left in buses
2:45 PM riot police block the road to the school.
Sam says the children were moved first.
We stayed by the gate until they let us through.
around 6 - smoke from the southern part of the camp

Dear everyone,
thank you for messages of support and donations to the pot. We will sort everything, upload it,
publish it. Continue sharing!
Tom
"""

# The same day typed with times and no date at all, as most notes are: its day must come from
# elsewhere (temoin.sort.notedays).
UNDATED_DIARY = """\
7:00 helicopters over the camp
Noon - food distribution, long queue
14h30: 1051 people left in buses
vers 16h les premières cabanes sont démontées.
"""
