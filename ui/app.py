"""Launcher kept for ``streamlit run ui/app.py`` from a checkout: the chat lives in the package
(``rag/ui/app.py``, started by ``rag ui``)."""

from rag.ui.app import main

main()
