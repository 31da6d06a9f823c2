"""Rendering and export (layer L5, an edge: nothing in the library imports it).

    mesh      one merged mesh of the visible block faces (numpy only)
    offscreen OpenGL detection and the pyvista scene (stills, side by side)
    animate   GIF / MP4 of a sequence of Structures (growth frames)
    viewer    the interactive window (slider, block toggles, voxel cut plane)
    export    .glb / .obj / .ply meshes with exact block colours
    motion    machines in flight, moving-piston cells drawn as the block they carry

Only `mesh` is light (numpy); the others import pyvista, imageio or trimesh,
so import them where they are needed.
"""
