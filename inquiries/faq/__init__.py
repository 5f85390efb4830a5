"""FAQ mining: from the inquiry logs to FAQ candidates that agents review and publish.

- ``cleaning``: the customer's question and the agent's answer without quotes, signatures and
  greetings (English and Japanese).
- ``vectors``: texts as vectors, TF-IDF on character and word n-grams (default) or sentence
  embeddings from an installed model (``embeddings``, an optional extra).
- ``mining``: grouping, summaries (representative question, draft answer, confidence), coverage
  by published FAQ entries, matching to the candidates of earlier runs. Pure: no database.
- ``statuses``: the review state machine (pure).
- ``selectors``: the questions of a period, FAQ search, suggestions for an inquiry.
- ``services``: a mining run written in one transaction; accept, reject, merge.
"""
