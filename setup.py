import setuptools

# pbr, as in every OpenStack project: the version comes from git (tags and
# commits, or PKG-INFO in an sdist), install_requires from requirements.txt,
# and the metadata, packages and entry points from setup.cfg.
setuptools.setup(
    setup_requires=['pbr>=6.0.0'],
    pbr=True)
