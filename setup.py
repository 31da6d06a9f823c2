from setuptools import find_packages, setup

setup(
    name="voxgen",
    version="0.1.0",
    description="Grow Minecraft structures with 3D neural cellular automata",
    packages=find_packages(include=["voxgen", "voxgen.*"]),
    package_data={"voxgen": ["*.tsv", "*.json", "*/*.json", "*/*.tsv"]},
    python_requires=">=3.11",
    install_requires=[
        "numpy>=1.26",
        "torch>=2.2",
        "numba>=0.59,<0.69",  # the kernels use the private _nrt=False flag
        "click>=8.1",
        "nbtlib>=2.0",
        "tomli-w>=1.0",
        "safetensors>=0.4",
        "tqdm>=4.60",
        "pyvista>=0.43",
        "vtk>=9.3",
        "trimesh>=4.0",
        "imageio>=2.31",
        "imageio-ffmpeg>=0.4",
        "matplotlib>=3.7",
    ],
    extras_require={
        "fast": ["rapidnbt>=1.3"],
        "test": ["pytest>=8", "pytest-xdist>=3", "litemapy>=0.11.0b0", "mcschematic>=11"],
    },
    entry_points={"console_scripts": ["voxgen=voxgen.cli:main"]},
)
