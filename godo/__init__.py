"""The Godo deployment's `streams` command: the core commands plus those that need api/.

streams/ is the library and must not import the web app or the application; this package is
the composition root that may import all three, so the commands that need the API live here.
"""
