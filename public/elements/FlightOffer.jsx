// A flight offer as a card: each journey's times at its airports, stops, duration, carrier,
// price, fare conditions and a Book button. Props come from web/offer_cards.py flight_card.
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardFooter, CardHeader } from '@/components/ui/card';
import { Check, Clock, Plane } from 'lucide-react';
import { useState } from 'react';

function Journey({ journey }) {
  return (
    <div className="flex flex-col gap-1">
      <div className="text-xs text-muted-foreground">
        {journey.direction} · {journey.departs.date} · {journey.flights}
      </div>
      <div className="flex items-center gap-3">
        <div className="flex flex-col">
          <span className="text-lg font-semibold">{journey.departs.time}</span>
          <span className="text-sm text-muted-foreground">{journey.departs.code}</span>
        </div>
        <div className="flex flex-col items-center flex-grow text-xs text-muted-foreground">
          <span className="flex items-center gap-1"><Clock className="h-3 w-3" />{journey.duration}</span>
          <span className="w-full border-t" />
          <span>{journey.stops}</span>
        </div>
        <div className="flex flex-col items-end">
          <span className="text-lg font-semibold">
            {journey.arrives.time}
            {journey.days_later > 0 ? <sup className="text-xs"> +{journey.days_later}</sup> : null}
          </span>
          <span className="text-sm text-muted-foreground">{journey.arrives.code}</span>
        </div>
      </div>
    </div>
  );
}

export default function FlightOffer() {
  const [sending, setSending] = useState(false);
  const open = props.state === 'open';
  const book = () => {
    setSending(true);
    callAction({
      name: 'book_option',
      payload: { say: props.say, answer: props.answer, number: props.number }
    });
  };
  return (
    <Card data-testid="offer-card" data-state={props.state} data-number={props.number}
          className={props.state === 'closed' ? 'opacity-60' : ''}>
      <CardHeader className="flex flex-row items-center justify-between gap-2 p-4 pb-2">
        <span className="flex items-center gap-2 font-medium">
          <Plane className="h-4 w-4" />#{props.number} {props.carriers}
        </span>
        <span className="text-lg font-bold" data-testid="offer-price">{props.price}</span>
      </CardHeader>
      <CardContent className="flex flex-col gap-3 p-4 pt-0">
        {props.journeys.map((journey, index) => <Journey key={index} journey={journey} />)}
        <div className="flex flex-wrap gap-2">
          <Badge variant="secondary">{props.cabin}</Badge>
          <Badge variant="secondary">{props.passengers} passenger(s)</Badge>
          {props.terms.map((term) => <Badge key={term} variant="outline">{term}</Badge>)}
          {props.seats_left ? <Badge variant="outline">{props.seats_left} seats left</Badge> : null}
        </div>
      </CardContent>
      <CardFooter className="justify-end p-4 pt-0">
        {open ? (
          <Button aria-label={props.label} disabled={sending} onClick={book}>
            {sending ? 'Booking…' : 'Book'}
          </Button>
        ) : props.state === 'chosen' ? (
          <Badge><Check className="h-3 w-3 mr-1" />Chosen</Badge>
        ) : null}
      </CardFooter>
    </Card>
  );
}
