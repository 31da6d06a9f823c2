"""voxgen: grow Minecraft structures with 3D neural cellular automata.

Layers (import downwards only; see DESIGN.md):
L0 blocks, config  ->  L1 structure  ->  L2 formats | physics | nca | metrics
->  L3 train | grow  ->  L4 regen  ->  L5 render | export  ->  L6 cli
"""

__version__ = "0.1.0"
