"""The Streamlit chat (``rag ui``): ``app`` (sidebar and navigation), ``page_ask`` (questions),
``page_draft`` (a writer's draft), ``components`` (shared rendering). Pages are Streamlit scripts
and call the library for everything."""
