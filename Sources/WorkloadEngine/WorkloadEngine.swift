import CSpawn
