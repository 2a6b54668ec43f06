"""The smoke tests of the bigger scenario pages, one module per page.

Each module's ``smoke(page, ctx)`` drives its page like a user would and checks what
happened (see :mod:`demo_app.smoke`); the page's ``smoke()`` method runs it. Keeping
them here keeps each page module about what the page shows and does.
"""
