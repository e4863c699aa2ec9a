"""Travel inventory providers: the offline inventory (default), Duffel and Amadeus."""
